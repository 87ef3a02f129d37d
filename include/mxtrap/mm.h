/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Allocation over a knot_mm_t, with libknot's internal mm_alloc()/mm_free() semantics. */

#pragma once

#include <stdlib.h>

#include <libknot/mm_ctx.h>

static inline void *mm_get(knot_mm_t *mm, size_t size)
{
	return mm->alloc != NULL ? mm->alloc(mm->ctx, size) : malloc(size);
}

static inline void mm_put(knot_mm_t *mm, void *ptr)
{
	if (mm->free != NULL) {
		mm->free(ptr);
	} else if (mm->alloc == NULL) {
		free(ptr);
	}
}
