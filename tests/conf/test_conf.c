/*
 * Configuration checks for knot-mxtrap, run through `knotc conf-check`.
 *
 *  - every conf-examples/<name>.conf, with its @...@ placeholders replaced,
 *    must be accepted;
 *  - bad values of the module's items must be refused, and knotc's message
 *    must name the offending item;
 *  - edge values that are valid must be accepted.
 *
 * Environment (set by tests/conf/meson.build):
 *   MXTRAP_MODULE      absolute path of the built mxtrap.so
 *   KNOTC              path of the knotc program
 *   CONF_EXAMPLES_DIR  the source directory conf-examples/
 *   KNOTD_PRELOAD      (optional) ASan runtime for an ASan-built module: goes
 *                      into LD_PRELOAD of knotc only, with sanitizer reports
 *                      written under SANITIZER_LOG_DIR (see tests/sanitize.sh)
 *
 * Every knotc run gets its own directory under one temporary root, which
 * main() removes after all tests, whatever their result. knotc runs under
 * alarm(), and each test case has a Check timeout, so nothing can hang.
 */

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../child_env.h"

#define KNOTC_TIMEOUT_S  20   /* per knotc run */
#define TCASE_TIMEOUT_S  120  /* per test */
#define OUT_MAX          8192
#define MAX_EXAMPLES     64

static const char *g_module;
static const char *g_knotc;
static const char *g_examples;
static char g_root[PATH_MAX];

static char **g_knotc_env;

static char *g_example_files[MAX_EXAMPLES];
static int g_example_count;

/* ---------------------------------------------------------------- helpers */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	if (path[0] != '\0') {
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	char *buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	size_t got = fread(buf, 1, (size_t)len, f);
	fclose(f);
	ck_assert_msg(got == (size_t)len, "short read from %s", path);
	buf[len] = '\0';
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Returns a new string with every `from` in `text` replaced by `to`. */
static char *replace_all(const char *text, const char *from, const char *to)
{
	size_t from_len = strlen(from), to_len = strlen(to), n = 0;
	for (const char *p = strstr(text, from); p; p = strstr(p + from_len, from)) {
		n++;
	}
	size_t size = strlen(text) + n * to_len + 1;
	char *out = malloc(size), *w = out;
	ck_assert_ptr_nonnull(out);
	const char *r = text;
	for (const char *p = strstr(r, from); p; p = strstr(r, from)) {
		memcpy(w, r, (size_t)(p - r));
		w += p - r;
		memcpy(w, to, to_len);
		w += to_len;
		r = p + from_len;
	}
	strcpy(w, r);
	return out;
}


/* Creates a fresh work directory with run/, storage/ and zones/ in it. */
static void make_workdir(char *dir, size_t len)
{
	int n = snprintf(dir, len, "%s/t.XXXXXX", g_root);
	ck_assert(n > 0 && (size_t)n < len);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));

	const char *subs[] = { "run", "storage", "zones", "zones/customers" };
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char sub[PATH_MAX + 32];
		snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		ck_assert_msg(mkdir(sub, 0700) == 0, "mkdir %s: %s", sub, strerror(errno));
	}
}

/* Replaces the placeholders documented in the conf-examples files. */
static char *render(const char *text, const char *dir)
{
	char run[PATH_MAX + 16], storage[PATH_MAX + 16], zones[PATH_MAX + 16];
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(storage, sizeof(storage), "%s/storage", dir);
	snprintf(zones, sizeof(zones), "%s/zones", dir);

	const char *map[][2] = {
		{ "@MXTRAP_MODULE@", g_module },
		{ "@RUNDIR@",        run },
		{ "@STORAGE@",       storage },
		{ "@ZONEDIR@",       zones },
	};
	char *cur = strdup(text);
	ck_assert_ptr_nonnull(cur);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		char *next = replace_all(cur, map[i][0], map[i][1]);
		free(cur);
		cur = next;
	}
	return cur;
}

/* Finds a leftover "@WORD@" placeholder (WORD = [A-Z_]+); NULL if none. */
static const char *leftover_placeholder(const char *text)
{
	for (const char *p = strchr(text, '@'); p; p = strchr(p + 1, '@')) {
		const char *q = p + 1;
		while ((*q >= 'A' && *q <= 'Z') || *q == '_') {
			q++;
		}
		if (q > p + 1 && *q == '@') {
			return p;
		}
	}
	return NULL;
}

/* Output with line breaks folded, for one-line assertion messages. */
static char *one_line(const char *s)
{
	char *o = strdup(s);
	ck_assert_ptr_nonnull(o);
	size_t len = strlen(o);
	while (len > 0 && o[len - 1] == '\n') {
		o[--len] = '\0';
	}
	for (char *p = o; *p; p++) {
		if (*p == '\n') {
			*p = '|';
		}
	}
	return o;
}

/* Prints knotc's output as TAP comments (visible with meson test -v). */
static void diag(const char *label, int rc, const char *out)
{
	printf("# [%s] knotc conf-check exit %d\n", label, rc);
	const char *p = out;
	while (*p) {
		const char *e = strchr(p, '\n');
		int l = e ? (int)(e - p) : (int)strlen(p);
		printf("#   %.*s\n", l, p);
		p += l + (e ? 1 : 0);
	}
	fflush(stdout);
}

/*
 * Runs `knotc -c conf conf-check`, stdout and stderr into `out`.
 * Returns the exit code, 128 + signal if killed (e.g. by the alarm), or
 * 127 if knotc could not be executed.
 */
static int run_conf_check(const char *conf, char *out, size_t out_len)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		alarm(KNOTC_TIMEOUT_S); /* kept across exec: kills a hung knotc */
		char *argv[] = { "knotc", "-c", (char *)conf, "conf-check", NULL };
		execve(g_knotc, argv, g_knotc_env);
		_exit(127);
	}
	close(fds[1]);

	size_t used = 0;
	char sink[512];
	for (;;) {
		ssize_t n;
		if (used + 1 < out_len) {
			n = read(fds[0], out + used, out_len - 1 - used);
		} else {
			n = read(fds[0], sink, sizeof(sink)); /* drain the rest */
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		if (used + 1 < out_len) {
			used += (size_t)n;
		}
	}
	out[used] = '\0';
	close(fds[0]);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		ck_assert_int_eq(errno, EINTR);
	}
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Writes `text` (rendered) into a new work directory and checks it. */
static int check_text(const char *label, const char *text, char *out, size_t out_len)
{
	char dir[PATH_MAX], conf[PATH_MAX + 16];
	make_workdir(dir, sizeof(dir));
	char *rendered = render(text, dir);
	const char *left = leftover_placeholder(rendered);
	ck_assert_msg(left == NULL, "%s: unknown placeholder left: %.40s", label, left);
	snprintf(conf, sizeof(conf), "%s/knot.conf", dir);
	write_file(conf, rendered);
	free(rendered);

	int rc = run_conf_check(conf, out, out_len);
	diag(label, rc, out);
	ck_assert_msg(rc != 127, "%s: cannot execute %s", label, g_knotc);
	ck_assert_msg(rc < 128, "%s: knotc killed by signal %d (timeout?)", label, rc - 128);
	return rc;
}

/* ---------------------------------------------- conf-examples/<name>.conf */

START_TEST(test_examples_present)
{
	const char *required[] = {
		"example.conf", "all-zones.conf", "one-zone.conf", "hosting-template.conf"
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		bool found = false;
		for (int j = 0; j < g_example_count; j++) {
			const char *base = strrchr(g_example_files[j], '/');
			base = base ? base + 1 : g_example_files[j];
			found |= (strcmp(base, required[i]) == 0);
		}
		ck_assert_msg(found, "conf-examples/%s is missing", required[i]);
	}
	char zone[PATH_MAX];
	snprintf(zone, sizeof(zone), "%s/example.com.zone", g_examples);
	ck_assert_msg(access(zone, R_OK) == 0, "%s is missing", zone);
}
END_TEST

START_TEST(test_example_conf_check)
{
	ck_assert_int_lt(_i, g_example_count);
	const char *path = g_example_files[_i];
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;

	char *text = read_file(path);
	ck_assert_msg(strstr(text, "@MXTRAP_MODULE@") != NULL,
	              "%s does not load the module through @MXTRAP_MODULE@", base);
	ck_assert_msg(strstr(text, "mod-mxtrap") != NULL, "%s does not use mod-mxtrap", base);

	char out[OUT_MAX];
	int rc = check_text(base, text, out, sizeof(out));
	free(text);
	char *msg = one_line(out);
	ck_assert_msg(rc == 0, "%s: knotc conf-check exit %d: %s", base, rc, msg);
	ck_assert_msg(strstr(out, "Configuration is valid") != NULL,
	              "%s: unexpected knotc output: %s", base, msg);
	free(msg);
}
END_TEST

/* -------------------------------------------------- module item values */

/* %s: the lines of the mod-mxtrap[t] section after its id. */
static const char *BASE_CONF =
	"server:\n"
	"    rundir: \"@RUNDIR@\"\n"
	"    listen: 127.0.0.1@53053\n"
	"database:\n"
	"    storage: \"@STORAGE@\"\n"
	"module:\n"
	"  - id: mod-mxtrap\n"
	"    file: \"@MXTRAP_MODULE@\"\n"
	"mod-mxtrap:\n"
	"  - id: t\n"
	"%s"
	"template:\n"
	"  - id: default\n"
	"    storage: \"@ZONEDIR@\"\n"
	"zone:\n"
	"  - domain: example.com\n"
	"    module: mod-mxtrap/t\n"
	"  - domain: example.net\n"
	"    module: mod-mxtrap\n";

static char *base_conf(const char *lines)
{
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, BASE_CONF, lines), 0);
	return text;
}

typedef struct {
	const char *label;
	const char *lines;   /* mod-mxtrap section body */
	const char *item;    /* must appear in knotc's output */
} bad_case_t;

static const bad_case_t BAD[] = {
	{ "preference -1",       "    preference: -1\n",                  "preference" },
	{ "preference 65536",    "    preference: 65536\n",               "preference" },
	{ "preference abc",      "    preference: abc\n",                 "preference" },
	{ "exchange root",       "    exchange: .\n",                     "exchange" },
	{ "exchange root in list",
	                         "    exchange: [ trap.example.net., . ]\n", "exchange" },
	{ "exchange bad..name",  "    exchange: bad..name\n",             "exchange" },
	{ "require-backup maybe", "    require-backup: maybe\n",          "require-backup" },
	{ "unknown item",        "    no-such-item: 1\n",                 "no-such-item" },
};

START_TEST(test_bad_value)
{
	const bad_case_t *c = &BAD[_i];
	char *text = base_conf(c->lines);
	char out[OUT_MAX];
	int rc = check_text(c->label, text, out, sizeof(out));
	free(text);
	char *msg = one_line(out);
	ck_assert_msg(rc != 0, "%s: accepted by knotc conf-check: %s", c->label, msg);
	ck_assert_msg(strstr(out, "Configuration is valid") == NULL,
	              "%s: knotc says valid: %s", c->label, msg);
	ck_assert_msg(strstr(out, c->item) != NULL,
	              "%s: knotc output does not name '%s': %s", c->label, c->item, msg);
	free(msg);
}
END_TEST

typedef struct {
	const char *label;
	const char *lines;
} good_case_t;

static const good_case_t GOOD[] = {
	{ "defaults only",      "" },
	{ "preference 0",       "    preference: 0\n" },
	{ "preference 65535",   "    preference: 65535\n" },
	{ "exchange list",      "    exchange: [ trap1.example.net., trap2.example.net, mail.example.com. ]\n" },
	{ "exchange repeated",  "    exchange: trap1.example.net.\n"
	                        "    exchange: trap2.example.net.\n" },
	{ "require-backup off", "    require-backup: off\n" },
	{ "require-backup on",  "    require-backup: on\n" },
	{ "all items",          "    preference: 500\n"
	                        "    exchange: [ trap.example.net. ]\n"
	                        "    require-backup: false\n" },
};

START_TEST(test_good_value)
{
	const good_case_t *c = &GOOD[_i];
	char *text = base_conf(c->lines);
	char out[OUT_MAX];
	int rc = check_text(c->label, text, out, sizeof(out));
	free(text);
	char *msg = one_line(out);
	ck_assert_msg(rc == 0, "%s: knotc conf-check exit %d: %s", c->label, rc, msg);
	ck_assert_msg(strstr(out, "Configuration is valid") != NULL,
	              "%s: unexpected knotc output: %s", c->label, msg);
	free(msg);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");

	TCase *tc = tcase_create("examples");
	tcase_set_timeout(tc, TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_examples_present);
	tcase_add_loop_test(tc, test_example_conf_check, 0, g_example_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad-values");
	tcase_set_timeout(tc, TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_bad_value, 0, (int)(sizeof(BAD) / sizeof(BAD[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("good-values");
	tcase_set_timeout(tc, TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_good_value, 0, (int)(sizeof(GOOD) / sizeof(GOOD[0])));
	suite_add_tcase(s, tc);

	return s;
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "test_conf: environment variable %s is not set\n", name);
		exit(EXIT_FAILURE);
	}
	return v;
}

int main(void)
{
	/* Line buffering: nothing left in stdout's buffer when Check forks. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	g_module = need_env("MXTRAP_MODULE");
	g_knotc = need_env("KNOTC");
	g_examples = need_env("CONF_EXAMPLES_DIR");
	g_knotc_env = child_env("knotc-conf");
	if (access(g_module, R_OK) != 0) {
		fprintf(stderr, "test_conf: module %s: %s\n", g_module, strerror(errno));
		return EXIT_FAILURE;
	}

	char pattern[PATH_MAX];
	snprintf(pattern, sizeof(pattern), "%s/*.conf", g_examples);
	glob_t gl;
	if (glob(pattern, 0, NULL, &gl) == 0) {
		for (size_t i = 0; i < gl.gl_pathc && g_example_count < MAX_EXAMPLES; i++) {
			g_example_files[g_example_count++] = strdup(gl.gl_pathv[i]);
		}
		globfree(&gl);
	}

	const char *tmp = getenv("TMPDIR");
	snprintf(g_root, sizeof(g_root), "%s/mxtrap-conf.XXXXXX",
	         (tmp != NULL && tmp[0] != '\0') ? tmp : "/tmp");
	if (mkdtemp(g_root) == NULL) {
		fprintf(stderr, "test_conf: mkdtemp: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}

	SRunner *sr = srunner_create(conf_suite());
	/* With TAP on stdout (CK_TAP_LOG_FILE_NAME=-), keep Check's own summary off it. */
	const char *tap = getenv("CK_TAP_LOG_FILE_NAME");
	bool tap_stdout = (tap != NULL && strcmp(tap, "-") == 0);
	srunner_run_all(sr, tap_stdout ? CK_SILENT : CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	rm_rf(g_root);
	for (int i = 0; i < g_example_count; i++) {
		free(g_example_files[i]);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
