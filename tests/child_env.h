/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Environment for the knotd/knotc children of the integration tests. With an
 * ASan-built module (KNOTD_PRELOAD set by meson when -Dsanitize=true), Debian's
 * knotd and knotc must preload the ASan runtime; reports go to
 * SANITIZER_LOG_DIR/{asan,ubsan}.TAG.PID and stop the child at the first error.
 * The test programs themselves keep their own environment.
 */

#pragma once

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*! Our environment, or a copy with the sanitizer settings for TAG; build before fork(). */
static inline char **child_env(const char *tag)
{
	extern char **environ;
	const char *preload = getenv("KNOTD_PRELOAD");
	if (preload == NULL || preload[0] == '\0') {
		return environ;
	}
	const char *logdir = getenv("SANITIZER_LOG_DIR");
	char asan_log[PATH_MAX] = "", ubsan_log[PATH_MAX] = "";
	if (logdir != NULL && logdir[0] != '\0') {
		if (mkdir(logdir, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "# mkdir %s: %s\n", logdir, strerror(errno));
		}
		snprintf(asan_log, sizeof(asan_log), "log_path=%s/asan.%s:", logdir, tag);
		snprintf(ubsan_log, sizeof(ubsan_log), "log_path=%s/ubsan.%s:", logdir, tag);
	}

	size_t n = 0;
	while (environ[n] != NULL) {
		n++;
	}
	char **env = calloc(n + 4, sizeof(char *));
	char *extra[3] = { NULL };
	if (env == NULL ||
	    asprintf(&extra[0], "LD_PRELOAD=%s", preload) < 0 ||
	    asprintf(&extra[1], "ASAN_OPTIONS=%shalt_on_error=1:detect_leaks=1", asan_log) < 0 ||
	    asprintf(&extra[2], "UBSAN_OPTIONS=%shalt_on_error=1:print_stacktrace=1", ubsan_log) < 0) {
		perror("child_env");
		exit(EXIT_FAILURE);
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0 &&
		    strncmp(environ[i], "UBSAN_OPTIONS=", 14) != 0) {
			env[k++] = environ[i];
		}
	}
	for (size_t i = 0; i < 3; i++) {
		env[k++] = extra[i];
	}
	env[k] = NULL;
	return env;
}
