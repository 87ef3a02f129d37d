/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * The module's configuration items as `knotc conf-check` with the built
 * module sees them: bad values are refused, knotc naming the item; edge
 * values pass. (tests/ops/examples.sh serves every conf-examples file.)
 */

#include "../test_helpers.h"

static const char *g_module, *g_knotc;
static char g_root[PATH_MAX];

/*! Values of the module's items; \a item: what knotc must name refusing it (NULL: valid). */
static const struct {
	const char *lines, *item;
} ITEMS[] = {
	{ "    preference: -1\n",                     "preference" },
	{ "    preference: 65536\n",                  "preference" },
	{ "    exchange: .\n",                        "exchange" },  /* A null MX. */
	{ "    exchange: [ trap.example.net., . ]\n", "exchange" },
	{ "    exchange: bad..name\n",                "exchange" },
	{ "    require-backup: maybe\n",              "require-backup" },
	{ "    dnssec: maybe\n",                      "dnssec" },
	{ "    policy: nosuch\n",                     "policy" },
	{ "    dnssec: off\n    policy: p\n",          "policy" },  /* A policy that would do nothing. */
	{ "" },
	{ "    preference: 0\n" },
	{ "    preference: 65535\n" },
	{ "    exchange: trap1.example.net.\n    exchange: [ trap2.example.net, mail.example.com. ]\n" },
	{ "    preference: 500\n    exchange: trap.example.net.\n    require-backup: off\n"
	  "    dnssec: on\n" },
	{ "    dnssec: on\n    policy: p\n" },
	{ "    policy: p\n" },  /* dnssec from the zone's dnssec-signing. */
};

/* A bad value is refused, knotc naming the item; a valid one accepted. */
START_TEST(item_value)
{
	char dir[PATH_MAX + 16], conf[PATH_MAX + 32], out[8192];
	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", g_root);
	snprintf(conf, sizeof(conf), "%s/knot.conf", mkdtemp(dir));
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "server:\n    rundir: \"%s\"\n    listen: 127.0.0.1@53053\n"
	        "database:\n    storage: \"%s\"\n"
	        "policy:\n  - id: p\n"
	        "module:\n  - id: mod-mxtrap\n    file: \"%s\"\n"
	        "mod-mxtrap:\n  - id: t\n%s"
	        "template:\n  - id: default\n    storage: \"%s\"\n"
	        "zone:\n  - domain: example.com\n    module: mod-mxtrap/t\n"
	        "  - domain: example.net\n    module: mod-mxtrap\n",
	        dir, dir, g_module, ITEMS[_i].lines, dir);
	ck_assert(fclose(f) == 0);
	char *argv[] = { (char *)g_knotc, "-c", conf, "conf-check", NULL };
	int status = th_run(argv, "knotc-conf", out, sizeof(out), 20000);
	bool valid = strstr(out, "Configuration is valid") != NULL;
	ck_assert_msg(WIFEXITED(status) && (WEXITSTATUS(status) == 0) == valid,
	              "knotc status %d: %s", status, out);
	ck_assert_msg(valid == (ITEMS[_i].item == NULL), "%s%s: %s", ITEMS[_i].lines,
	              valid ? "accepted" : "refused", out);
	ck_assert_msg(valid || strstr(out, ITEMS[_i].item) != NULL, "%sknotc does not name %s: %s",
	              ITEMS[_i].lines, ITEMS[_i].item, out);
}
END_TEST

int main(void)
{
	g_module = getenv("MXTRAP_MODULE");
	g_knotc = getenv("KNOTC");
	if (g_module == NULL || access(g_module, R_OK) != 0 || g_knotc == NULL ||
	    !th_tmpdir(g_root, "conf")) {
		fprintf(stderr, "test_conf: no module (MXTRAP_MODULE), KNOTC or temporary directory\n");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, item_value, 0, TH_LEN(ITEMS));
	suite_add_tcase(s, tc);
	int status = th_run_suite(s);
	th_rm_rf(g_root);
	return status;
}
