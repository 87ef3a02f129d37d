/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Replays fuzzer inputs without libFuzzer, for the test suite: usage
 * fuzz_replay DIR_OR_FILE... runs LLVMFuzzerTestOneInput() on every regular
 * file (a directory's in name order, dot files left out) and prints TAP. A
 * violated check aborts the process with a message, which fails the test.
 */

#define TH_NO_CHECK
#include "../test_helpers.h"

#include <dirent.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned number;

static int replay(const char *path, const char *label)
{
	size_t size = 0;
	char *data = th_read_file(path, &size);
	if (data == NULL) {
		printf("not ok %u - %s: %s\n", ++number, label, strerror(errno));
		return 1;
	}
	fflush(stdout);  /* What ran before a crash is in the log. */
	LLVMFuzzerTestOneInput((const uint8_t *)data, size);
	free(data);
	printf("ok %u - %s\n", ++number, label);
	return 0;
}

static int visible(const struct dirent *entry)
{
	return entry->d_name[0] != '.';
}

int main(int argc, char *argv[])
{
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		struct dirent **names = NULL;
		int count = scandir(argv[i], &names, visible, alphasort);
		if (count < 0) {
			failed += replay(argv[i], argv[i]);
			continue;
		}
		for (int k = 0; k < count; k++) {
			char path[PATH_MAX];
			struct stat st;
			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				failed += replay(path, names[k]->d_name);
			}
			free(names[k]);
		}
		free(names);
	}
	if (number == 0) {
		printf("not ok 1 - no inputs\n");
		number = failed = 1;
	}
	printf("1..%u\n", number);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
