/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Temporary directories for the unit tests: made under $TMPDIR (or /tmp),
 * removed with everything in them. nftw() needs _GNU_SOURCE (or
 * _XOPEN_SOURCE 500) defined before the first #include of the test.
 */

#pragma once

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*! Makes a new directory "<TMPDIR>/mxtrap-<tag>.XXXXXX", its path in \a path. */
static inline void tmpdir_make(char path[PATH_MAX], const char *tag)
{
	const char *base = getenv("TMPDIR");
	snprintf(path, PATH_MAX, "%s/mxtrap-%s.XXXXXX", base != NULL && *base != '\0' ? base : "/tmp",
	         tag);
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
}

static inline int tmpdir_rm_entry(const char *path, const struct stat *st, int type,
                                  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/*! Removes a directory and everything in it (nothing if \a path is empty). */
static inline void tmpdir_remove(const char *path)
{
	if (path != NULL && *path != '\0') {
		(void)nftw(path, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}
