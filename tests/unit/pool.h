/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * A pool allocator like knotd's per-query memory: allocations are freed all
 * at once by pool_release(). The core allocates from the packet's memory
 * context and relies on that, as knotd does.
 */

#pragma once

#include <stddef.h>
#include <stdlib.h>

#include <libknot/mm_ctx.h>

typedef struct pool_block {
	struct pool_block *next;
	max_align_t data[];
} pool_block_t;

static pool_block_t *pool_blocks;

static void *pool_alloc(void *ctx, size_t len)
{
	(void)ctx;
	pool_block_t *block = malloc(sizeof(*block) + len);
	if (block == NULL) {
		return NULL;
	}
	block->next = pool_blocks;
	pool_blocks = block;
	return block->data;
}

static knot_mm_t pool = { .ctx = NULL, .alloc = pool_alloc, .free = NULL };

static inline void pool_release(void)
{
	while (pool_blocks != NULL) {
		pool_block_t *next = pool_blocks->next;
		free(pool_blocks);
		pool_blocks = next;
	}
}
