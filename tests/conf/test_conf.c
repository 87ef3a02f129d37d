/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Configuration checks through `knotc conf-check` with the built module:
 * every conf-examples/<name>.conf (its @...@ placeholders rendered) is
 * accepted; bad values of the module's items are refused, knotc's message
 * naming the item; valid edge values are accepted.
 *
 * Environment (tests/conf/meson.build): MXTRAP_MODULE, KNOTC,
 * CONF_EXAMPLES_DIR; KNOTD_PRELOAD and SANITIZER_LOG_DIR for an ASan-built
 * module (th_child_env()). Each knotc run gets a directory of its own under
 * one temporary root, removed at the end; knotc is killed after 20 s.
 */

#include "../test_helpers.h"

#include <glob.h>

static const char *g_module, *g_knotc, *g_examples;
static char g_root[PATH_MAX];
static char **g_env;
static glob_t g_files;

/*! A new string: \a text with every \a from replaced by \a to. */
static char *replace_all(const char *text, const char *from, const char *to)
{
	size_t from_len = strlen(from), to_len = strlen(to), n = 0;
	for (const char *p = strstr(text, from); p != NULL; p = strstr(p + from_len, from)) {
		n++;
	}
	char *out = malloc(strlen(text) + n * to_len + 1), *w = out;
	ck_assert_ptr_nonnull(out);
	for (const char *p; (p = strstr(text, from)) != NULL; text = p + from_len) {
		memcpy(w, text, p - text);
		memcpy(w + (p - text), to, to_len);
		w += (p - text) + to_len;
	}
	strcpy(w, text);
	return out;
}

/*!
 * Renders \a text into a fresh directory (run/, storage/, zones/ for the
 * placeholders) and runs knotc conf-check on it: true if accepted. knotc's
 * output goes to \a out and, as TAP comments, to stdout (meson test -v).
 */
static bool conf_check(const char *label, const char *text, char *out, size_t outlen)
{
	char dir[PATH_MAX + 16], conf[PATH_MAX + 32], sub[PATH_MAX + 48];
	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", g_root);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	const char *subs[] = { "run", "storage", "zones", "zones/customers" };
	const char *map[][2] = {
		{ "@MXTRAP_MODULE@", g_module }, { "@RUNDIR@", "run" }, { "@STORAGE@", "storage" },
		{ "@ZONEDIR@", "zones" },
	};
	char *rendered = strdup(text);
	for (size_t i = 0; i < TH_LEN(map); i++) {
		char path[PATH_MAX + 48];
		snprintf(path, sizeof(path), "%s/%s", dir, map[i][1]);
		char *next = replace_all(rendered, map[i][0], i == 0 ? map[i][1] : path);
		free(rendered);
		rendered = next;
	}
	for (size_t i = 0; i < TH_LEN(subs); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		ck_assert_msg(mkdir(sub, 0700) == 0, "mkdir %s: %s", sub, strerror(errno));
	}
	for (const char *p = strchr(rendered, '@'); p != NULL; p = strchr(p + 1, '@')) {
		size_t word = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		ck_assert_msg(word == 0 || p[1 + word] != '@', "%s: placeholder left: %.30s", label, p);
	}
	snprintf(conf, sizeof(conf), "%s/knot.conf", dir);
	ck_assert(th_write_file(conf, rendered, strlen(rendered)));
	free(rendered);

	char *argv[] = { (char *)g_knotc, "-c", conf, "conf-check", NULL };
	int status = th_run(argv, g_env, out, outlen, 20000);
	printf("# [%s] knotc conf-check: status %d\n", label, status);
	for (char *line = out, *end; *line != '\0'; line = end + (*end != '\0')) {
		end = line + strcspn(line, "\n");
		printf("#   %.*s\n", (int)(end - line), line);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 127,
	              "%s: knotc did not run or did not end (status %d)", label, status);
	bool valid = strstr(out, "Configuration is valid") != NULL;
	ck_assert_msg(valid == (WEXITSTATUS(status) == 0), "%s: knotc exit %d, output: %s", label,
	              WEXITSTATUS(status), out);
	return valid;
}

/* The examples the documentation names are there. */
START_TEST(examples_present)
{
	const char *required[] = {
		"example.conf", "all-zones.conf", "one-zone.conf", "hosting-template.conf",
		"example.com.zone",
	};
	for (size_t i = 0; i < TH_LEN(required); i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", g_examples, required[i]);
		ck_assert_msg(access(path, R_OK) == 0, "conf-examples/%s is missing", required[i]);
	}
}
END_TEST

/* Every example loads the module as documented and knotc accepts it. */
START_TEST(example_accepted)
{
	const char *path = g_files.gl_pathv[_i];
	const char *base = strrchr(path, '/') + 1;
	size_t len;
	char *text = th_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "@MXTRAP_MODULE@") != NULL && strstr(text, "mod-mxtrap") != NULL,
	              "%s does not load mod-mxtrap through @MXTRAP_MODULE@", base);
	char out[8192];
	ck_assert_msg(conf_check(base, text, out, sizeof(out)), "%s refused: %s", base, out);
	free(text);
}
END_TEST

/* %s: the lines of the section mod-mxtrap[t] after its id. */
static const char BASE_CONF[] =
	"server:\n    rundir: \"@RUNDIR@\"\n    listen: 127.0.0.1@53053\n"
	"database:\n    storage: \"@STORAGE@\"\n"
	"module:\n  - id: mod-mxtrap\n    file: \"@MXTRAP_MODULE@\"\n"
	"mod-mxtrap:\n  - id: t\n%s"
	"template:\n  - id: default\n    storage: \"@ZONEDIR@\"\n"
	"zone:\n  - domain: example.com\n    module: mod-mxtrap/t\n"
	"  - domain: example.net\n    module: mod-mxtrap\n";

/*! Values of the module's items; \a item: what knotc must name refusing it (NULL: valid). */
static const struct {
	const char *label, *lines, *item;
} ITEMS[] = {
	{ "preference -1",         "    preference: -1\n",                   "preference" },
	{ "preference 65536",      "    preference: 65536\n",                "preference" },
	{ "preference abc",        "    preference: abc\n",                  "preference" },
	{ "exchange root",         "    exchange: .\n",                      "exchange" },
	{ "exchange root in list", "    exchange: [ trap.example.net., . ]\n", "exchange" },
	{ "exchange bad..name",    "    exchange: bad..name\n",              "exchange" },
	{ "require-backup maybe",  "    require-backup: maybe\n",            "require-backup" },
	{ "unknown item",          "    no-such-item: 1\n",                  "no-such-item" },
	{ "defaults only",         "", NULL },
	{ "preference 0",          "    preference: 0\n", NULL },
	{ "preference 65535",      "    preference: 65535\n", NULL },
	{ "exchange list",
	  "    exchange: [ trap1.example.net., trap2.example.net, mail.example.com. ]\n", NULL },
	{ "exchange repeated",
	  "    exchange: trap1.example.net.\n    exchange: trap2.example.net.\n", NULL },
	{ "require-backup off",    "    require-backup: off\n", NULL },
	{ "require-backup on",     "    require-backup: on\n", NULL },
	{ "all items",
	  "    preference: 500\n    exchange: [ trap.example.net. ]\n    require-backup: false\n", NULL },
};

/* A bad value is refused, knotc naming the item; a valid one accepted. */
START_TEST(item_value)
{
	char *text = NULL, out[8192];
	ck_assert_int_ge(asprintf(&text, BASE_CONF, ITEMS[_i].lines), 0);
	bool valid = conf_check(ITEMS[_i].label, text, out, sizeof(out));
	free(text);
	ck_assert_msg(valid == (ITEMS[_i].item == NULL), "%s: %s: %s", ITEMS[_i].label,
	              valid ? "accepted" : "refused", out);
	ck_assert_msg(valid || strstr(out, ITEMS[_i].item) != NULL, "%s: knotc does not name %s: %s",
	              ITEMS[_i].label, ITEMS[_i].item, out);
}
END_TEST

static const char *need_env(const char *name)
{
	const char *value = getenv(name);
	if (value == NULL || *value == '\0') {
		fprintf(stderr, "test_conf: %s is not set\n", name);
		exit(EXIT_FAILURE);
	}
	return value;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);  /* Nothing left in the buffer when Check forks. */
	g_module = need_env("MXTRAP_MODULE");
	g_knotc = need_env("KNOTC");
	g_examples = need_env("CONF_EXAMPLES_DIR");
	g_env = th_child_env("knotc-conf");
	char pattern[PATH_MAX];
	snprintf(pattern, sizeof(pattern), "%s/*.conf", g_examples);
	if (access(g_module, R_OK) != 0 || glob(pattern, 0, NULL, &g_files) != 0 ||
	    !th_tmpdir(g_root, "conf")) {
		fprintf(stderr, "test_conf: no module %s, no examples in %s, or no temporary directory\n",
		        g_module, g_examples);
		return EXIT_FAILURE;
	}

	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, examples_present);
	tcase_add_loop_test(tc, example_accepted, 0, g_files.gl_pathc);
	tcase_add_loop_test(tc, item_value, 0, TH_LEN(ITEMS));
	suite_add_tcase(s, tc);
	int status = th_run_suite(s);
	th_rm_rf(g_root);
	globfree(&g_files);
	return status;
}
