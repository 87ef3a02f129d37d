/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Replays the fuzz target without libFuzzer: fuzz_replay DIR runs it on each
 * file of DIR in name order and prints TAP; a failed check aborts. */

#define TH_NO_CHECK
#include "../test_helpers.h"

#include <dirent.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int visible(const struct dirent *entry)
{
	return entry->d_name[0] != '.';
}

int main(int argc, char *argv[])
{
	struct dirent **names = NULL;
	int count = argc == 2 ? scandir(argv[1], &names, visible, alphasort) : -1;
	for (int i = 0; i < count; i++) {
		char path[PATH_MAX];
		size_t size = 0;
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]->d_name);
		char *data = th_read_file(path, &size);
		TH_ASSERT(data != NULL);
		fflush(stdout);  /* What ran before a crash is in the log. */
		LLVMFuzzerTestOneInput((const uint8_t *)data, size);
		printf("ok %d - %s\n", i + 1, names[i]->d_name);
		free(data);
		free(names[i]);
	}
	free(names);
	printf("1..%d\n", count > 0 ? count : 0);
	return count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
