#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""knotd's zone counters as CZ.NIC's knot-exporter (Knot >= 3.5's
python/knot_exporter) publishes them: `zone-stats` read over the control
socket with libknot's binding, each counter a gauge knot_zone_stats_<counter>
and a counter knot_zone_stats_<counter>_total, labels zone (with the final
dot), module (e.g. mod-mxtrap) and type (the index; "" without one).

  exporter.py scrape SOCKET        the exposition text, once
  exporter.py serve SOCKET PORT    /metrics on 127.0.0.1:PORT until SIGTERM
  exporter.py query URL EXPR       a PromQL instant query through Prometheus'
                                   HTTP API: "{labels} value" lines, sorted
Option --libknot PATH: libknot.so if not the binding's own (libknot.so.N).
"""

import argparse
import json
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import libknot
import libknot.control
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

LABELS = ["zone", "module", "type"]


class ZoneStats:
    """A collector: one control connection per scrape, as the exporter."""

    def __init__(self, sock, timeout_ms=2000):
        self.sock, self.timeout_ms = sock, timeout_ms

    def read(self):
        ctl = libknot.control.KnotCtl()
        ctl.connect(self.sock)
        try:
            ctl.set_timeout(self.timeout_ms)
            # flags "": counters that are zero are not sent (all on Knot >= 3.4,
            # indexed ones on 3.2), so their series are absent.
            ctl.send_block(cmd="zone-stats", flags="")
            return ctl.receive_stats()
        finally:
            ctl.send(libknot.control.KnotCtlType.END)
            ctl.close()

    def collect(self):
        families = {}

        def add(item, labels, value):
            name = ("knot_zone_stats_" + item).replace("-", "_")
            if name not in families:
                families[name] = (GaugeMetricFamily(name, "", labels=LABELS),
                                  CounterMetricFamily(name, "", labels=LABELS))
            for family in families[name]:
                family.add_metric(labels, value)

        for zone, modules in self.read().get("zone", {}).items():
            for module, items in modules.items():
                for item, value in items.items():
                    if isinstance(value, dict):
                        for index, count in value.items():
                            add(item, [zone, module, index], count)
                    else:
                        add(item, [zone, module, ""], value)
        for pair in families.values():
            yield from pair


def promql(url, expr):
    query = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as r:
            answer = json.load(r)
    except urllib.error.HTTPError as e:  # a bad query: Prometheus says why
        answer = json.load(e)
    if answer.get("status") != "success":
        sys.exit(f"{expr}: {answer.get('error', answer)}")
    lines = []
    for sample in answer["data"]["result"]:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample["metric"].items()))
        lines.append("{%s} %.6g" % (labels, float(sample["value"][1])))
    print("\n".join(sorted(lines)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--libknot")
    parser.add_argument("mode", choices=["scrape", "serve", "query"])
    parser.add_argument("args", nargs="+")
    args = parser.parse_args()
    if args.mode == "query":
        promql(*args.args)
        return
    libknot.Knot(args.libknot)
    registry = CollectorRegistry()
    registry.register(ZoneStats(args.args[0]))
    if args.mode == "scrape":
        sys.stdout.write(generate_latest(registry).decode())
        return
    start_http_server(int(args.args[1]), addr="127.0.0.1", registry=registry)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
