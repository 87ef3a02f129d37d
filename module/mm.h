/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

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
