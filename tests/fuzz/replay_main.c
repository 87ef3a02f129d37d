/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief Replays fuzzer inputs without libFuzzer, for the normal test suite.
 *
 * Usage: fuzz_replay DIR_OR_FILE...  Runs LLVMFuzzerTestOneInput() on every
 * regular file (in name order, dot files skipped) and prints TAP: one
 * "ok N - name" per input, then "1..N". A violated invariant aborts the
 * process with a message on stderr, which fails the test.
 */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*! Reads a whole file; NULL on error (errno set). */
static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *file = fopen(path, "rb");
	if (file == NULL) {
		return NULL;
	}
	size_t cap = 4096, len = 0;
	uint8_t *data = malloc(cap);
	while (data != NULL) {
		len += fread(data + len, 1, cap - len, file);
		if (len < cap) {
			break;
		}
		cap *= 2;
		uint8_t *bigger = realloc(data, cap);
		if (bigger == NULL) {
			free(data);
		}
		data = bigger;
	}
	if (data != NULL && ferror(file)) {
		free(data);
		data = NULL;
	}
	fclose(file);
	*size = len;
	return data;
}

static int run_one(const char *path, const char *label, unsigned *number)
{
	size_t size = 0;
	uint8_t *data = read_file(path, &size);
	if (data == NULL) {
		printf("not ok %u - %s: %s\n", ++*number, label, strerror(errno));
		return 1;
	}
	fflush(stdout);  /* What ran before a crash is in the log. */
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %u - %s\n", ++*number, label);
	return 0;
}

static int run_dir(const char *dir, unsigned *number)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		printf("not ok %u - %s: %s\n", ++*number, dir, strerror(errno));
		return 1;
	}
	size_t count = 0, cap = 64;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *entry;
	while (names != NULL && (entry = readdir(d)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		if (count == cap) {
			cap *= 2;
			char **bigger = realloc(names, cap * sizeof(*names));
			if (bigger == NULL) {
				break;
			}
			names = bigger;
		}
		names[count++] = strdup(entry->d_name);
	}
	closedir(d);
	if (names == NULL) {
		printf("not ok %u - %s: out of memory\n", ++*number, dir);
		return 1;
	}
	qsort(names, count, sizeof(*names), name_order);

	int failed = 0;
	for (size_t i = 0; i < count; i++) {
		char path[4096];
		struct stat st;
		if (names[i] == NULL) {
			printf("not ok %u - out of memory\n", ++*number);
			failed++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			failed += run_one(path, names[i], number);
		}
		free(names[i]);
	}
	free(names);
	return failed;
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	unsigned number = 0;
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			failed += run_dir(argv[i], &number);
		} else {
			failed += run_one(argv[i], argv[i], &number);
		}
	}
	if (number == 0) {
		printf("not ok 1 - no inputs found\n");
		number = 1;
		failed = 1;
	}
	printf("1..%u\n", number);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
