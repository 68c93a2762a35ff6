/*
 * askr shim: the only C in askr. It embeds PHP (Debian's libphp8.2-embed, NTS) with its own
 * SAPI, registers the natives of namespace Ephpm\Octane, and calls into C# through the
 * function pointers of askr_callbacks.
 *
 * Threading: every askr_php_* function except askr_php_interrupt must be called on the one
 * thread that runs PHP (NTS: one interpreter per process).
 *
 * Rule of the seam (docs/architecture.md): a callback into C# never calls back into the Zend
 * engine, so no PHP bailout (longjmp) can cross a C# frame. The shim converts between zvals
 * and the plain structs below before and after each callback.
 *
 * Every struct here is mirrored in dotnet/src/Askr/Php/ShimInterop.cs, field for field (the C#
 * names are the C names in PascalCase). No version number is kept by hand: the shim exports
 * every sizeof, offsetof and constant it was built with (askr_shim_contract), and the runtime
 * refuses a shim whose contract differs from its own (ShimContract: at start-up, in
 * `askr doctor`, and in tests-dotnet's ShimContractTests). The ASKR_* constants come from
 * constants.json (generated into askr_constants.h at the build).
 */
#ifndef ASKR_SHIM_H
#define ASKR_SHIM_H

#include <stdint.h>

#include "askr_constants.h"

#define ASKR_API __attribute__((visibility("default")))

/* A byte string that the shim does not own. Not NUL-terminated. */
typedef struct askr_str {
    const char *ptr;
    int64_t len;
} askr_str;

/*
 * One HTTP request as handed to PHP by take_request(). All memory belongs to C# and stays
 * valid until the next take callback. headers and server are arrays of (name, value) pairs:
 * 2 * count askr_str entries.
 */
typedef struct askr_envelope {
    int64_t id;
    askr_str method;
    askr_str uri;
    askr_str protocol;
    askr_str body;
    const askr_str *headers;
    int64_t header_count;
    const askr_str *server;
    int64_t server_count;
} askr_envelope;

/* A column of a shared table, as C# lays out a row's column area (dotnet/src/Askr/Tables/TableSchema.cs):
 * type is an ASKR_COLUMN_*; int: int64 value at offset; float: double at offset; string: int32
 * length at offset, bytes after it. */
typedef struct askr_column {
    askr_str name;
    int32_t type;
    int32_t size;     /* string columns: the most bytes */
    int32_t offset;   /* in the column area */
    int32_t reserved;
} askr_column;

typedef struct askr_table_info {
    int64_t handle;
    int64_t rows;          /* capacity */
    int64_t column_count;
    const askr_column *columns;
    int64_t column_bytes;  /* size of a column area */
    /* The table in the node's shared store, laid out as ASKR_TABLE_LAYOUT_* says (SharedTable.cs):
     * the shim reads rows and increments them in place under the same bucket locks, without a
     * callback (native/shim/tables.c). memory NULL: every operation goes through the callbacks. */
    uint8_t *memory;             /* the table header; bucket_count buckets follow, then the rows */
    int64_t bucket_count;        /* a power of two */
    int64_t row_bytes;           /* row header + column area + column metadata */
    int64_t *clock;              /* the store's hybrid logical clock (48 bits of Unix ms, 16 of counter) */
    const int32_t *replicated;   /* nonzero: every write must reach the change ring: writes take the callbacks */
    uint64_t node_id;            /* recorded as a row's origin */
    int64_t clock_offset_ms;     /* Unix ms = CLOCK_MONOTONIC_COARSE in ms + this (C#'s HybridClock) */
} askr_table_info;

/* One batch of a table scan: count rows; keys[i] and the column area at areas + i * column_bytes. */
typedef struct askr_scan {
    int64_t next_cursor;   /* 0: the walk is complete */
    int64_t count;
    const askr_str *keys;
    const uint8_t *areas;
} askr_scan;

/* Outcome of one task of Ephpm\Octane\dispatch_tasks; status is an ASKR_TASK_* (C#'s TaskStatus). */
typedef struct askr_task_result {
    int32_t status;
    int32_t reserved;
    askr_str data;     /* the task worker's answer (ASKR_TASK_OK), or a message */
} askr_task_result;

/* One task or tick handed to a task worker by take_task(); the memory belongs to C# and stays
 * valid until the next take_task callback. */
typedef struct askr_taken_task {
    int64_t id;
    int32_t kind;      /* ASKR_TASK_KIND_* */
    int32_t reserved;
    askr_str payload;  /* the serialized task; empty for a tick */
} askr_taken_task;

typedef struct askr_callbacks {
    /* Blocks up to timeout_ms (-1: no limit) for the next request; fills *out on ASKR_TAKE_REQUEST;
     * ASKR_TAKE_WRONG_KIND in a task worker. */
    int32_t (*take)(int64_t timeout_ms, askr_envelope *out);
    /* Answers the current request: status, (name, value) header pairs, body (or first chunk). */
    int32_t (*send)(int32_t status, const askr_str *headers, int64_t header_count,
                    const char *body, int64_t body_len, int32_t flags);
    /* One more chunk of a streamed response; final = 1 ends it (data may then be empty). */
    int32_t (*chunk)(const char *data, int64_t len, int32_t final);
    /* Answers the current request with a file range; length -1 means to the end. */
    int32_t (*file)(int32_t status, const askr_str *headers, int64_t header_count,
                    const char *path, int64_t path_len, int64_t offset, int64_t length);
    /* What PHP writes to its output outside any output buffer. */
    void (*output)(const char *data, int64_t len);
    /* PHP's error log and startup messages. */
    void (*log)(int32_t level, const char *message, int64_t len);

    /* Shared tables (docs/tables.md). Memory returned through pointers stays valid until the
     * next table callback of this thread. */
    int32_t (*table_open)(const char *name, int64_t name_len, askr_table_info *out);
    int32_t (*table_get)(int64_t handle, const char *key, int64_t key_len, const uint8_t **area);
    int32_t (*table_set)(int64_t handle, const char *key, int64_t key_len, const uint8_t *area, uint64_t present);
    int32_t (*table_del)(int64_t handle, const char *key, int64_t key_len);
    int32_t (*table_exists)(int64_t handle, const char *key, int64_t key_len);
    /* Adds by_double to a float column (float_column = 1; the result in *out_double) or by_long to
     * an int column (float_column = 0; *out_long). The shim knows the column's type from table_open. */
    int32_t (*table_incr)(int64_t handle, const char *key, int64_t key_len, int64_t column,
                          int32_t float_column, int64_t by_long, double by_double, int64_t *out_long, double *out_double);
    int64_t (*table_count)(int64_t handle);
    int32_t (*table_scan)(int64_t handle, int64_t cursor, int64_t count, askr_scan *out);
    /* The names of the tables the node's store holds (as declared with askr serve --tables, the
     * octane cache table included): *names points at *count strings. ASKR_TABLE_NO_STORE when
     * the server has no store. */
    int32_t (*table_names)(const askr_str **names, int64_t *count);

    /* Runs payloads on the node's task workers; with wait, blocks up to timeout_ms and fills
     * *results with count entries (valid until the next call). Returns 0, or < 0 when this
     * worker cannot dispatch (no supervisor). */
    int32_t (*dispatch)(const askr_str *payloads, int64_t count, int64_t timeout_ms, int32_t wait,
                        const askr_task_result **results);
    /* Task workers (docs/tasks.md): blocks up to timeout_ms (-1: no limit) for the next task or
     * tick; fills *out on ASKR_TAKE_REQUEST; ASKR_TAKE_WRONG_KIND in an HTTP worker. */
    int32_t (*take_task)(int64_t timeout_ms, askr_taken_task *out);
    /* Answers the task take_task returned: status ASKR_TASK_OK (data: the result) or
    " * ASKR_TASK_ERROR (data: why); ASKR_SEND_WRONG_KIND in an HTTP worker. */
    int32_t (*send_task_result)(int32_t status, const char *data, int64_t len);

    /* The response cache (docs/response-cache.md): kind ASKR_CACHE_PURGE_TAGS invalidates the
     * entries carrying any of the count items, _URLS those of the URLs, _FLUSH all (count 0).
     * Returns 0 (also when the server runs no cache), < 0 when C# failed. */
    int32_t (*cache_purge)(int32_t kind, const askr_str *items, int64_t count);
    /* Pusher events (docs/websockets.md): publishes event with data to count channels of the
     * server's first Pusher app, on every HTTP worker of the node, except the connection
     * except_socket_id names (ptr NULL: none). ASKR_BROADCAST_OK, ASKR_BROADCAST_NO_APP without
     * --pusher-app, ASKR_BROADCAST_INVALID_CHANNEL for a name Pusher does not allow. */
    int32_t (*broadcast)(const askr_str *channels, int64_t count, const askr_str *event, const askr_str *data,
                         const askr_str *except_socket_id);
    /* Defer after send (docs/lifecycle.md): blocks until the current request's response is
     * complete on the wire (Kestrel has ended it and the connection is free), up to what is left
     * of its --request-timeout. ASKR_SEND_OK, also when there is no current request (a task
     * worker, or between requests); ASKR_SEND_NO_REQUEST when the current request is not
     * answered yet. */
    int32_t (*await_sent)(void);
    /* Background workers (docs/background-workers.md). Each returns an ASKR_VARS_*; a negative
     * result fills *message (valid until the next background callback). */
    /* Publishes the serialized snapshot of this background worker (ASKR_VARS_WRONG_KIND elsewhere). */
    int32_t (*set_vars)(const char *blob, int64_t len, askr_str *message);
    /* The latest snapshot of name: ASKR_VARS_UNCHANGED when it is still known_generation, else
     * ASKR_VARS_OK with *generation and *blob (a copy, valid until the next background callback). */
    int32_t (*get_vars)(const char *name, int64_t name_len, int64_t known_generation, int64_t *generation,
                        askr_str *blob, askr_str *message);
    /* 1 when this background worker must stop, 0 when not; ASKR_VARS_WRONG_KIND elsewhere. */
    int32_t (*should_stop)(askr_str *message);
    /* A new descriptor (the caller owns it) that becomes readable when this background worker must stop. */
    int32_t (*worker_handle)(int32_t *fd, askr_str *message);
    /* Starts what is not running of count names and waits up to timeout_ms for each to publish once. */
    int32_t (*ensure_background)(const askr_str *names, int64_t count, int64_t timeout_ms, askr_str *message);
} askr_callbacks;

/*
 * One entry of the shim's contract: kind ASKR_CONTRACT_STRUCT (name "askr_str", value: sizeof),
 * ASKR_CONTRACT_FIELD (name "askr_str.len", value: offsetof, size: sizeof) or
 * ASKR_CONTRACT_CONSTANT (name "ASKR_TAKE_REQUEST", value). This struct and askr_shim_contract()
 * never change: they are how the two sides compare everything else.
 */
typedef struct askr_contract_entry {
    const char *name;
    int64_t value;
    int32_t kind;
    int32_t size;
} askr_contract_entry;

#define ASKR_CONTRACT_STRUCT 1
#define ASKR_CONTRACT_FIELD 2
#define ASKR_CONTRACT_CONSTANT 3

/* The contract this shim was built with: *count entries, in static memory. */
ASKR_API const askr_contract_entry *askr_shim_contract(int64_t *count);

/*
 * Starts the engine: promotes libphp to RTLD_GLOBAL, runs the SAPI and module startup with
 * php.ini as PHP finds it plus extra_ini (newline-separated "key=value", applied last).
 * sapi_name must be one that OPcache accepts (see docs/natives.md). Returns 0 on success.
 */
ASKR_API int32_t askr_php_startup(const askr_callbacks *callbacks, const char *sapi_name, const char *extra_ini);

/*
 * Runs script_path as one PHP request (request startup, execute, request shutdown).
 * Writes the script's exit status to *exit_status. Returns an ASKR_RUN_* code.
 */
ASKR_API int32_t askr_php_run(const char *script_path, int32_t *exit_status);

/* Shuts the engine down. */
ASKR_API void askr_php_shutdown(void);

/*
 * May be called from any thread: makes the running script fail with PHP's
 * "Maximum execution time of N seconds exceeded" fatal error at the VM's next interrupt
 * check. Has no effect on a script blocked in a system call.
 */
ASKR_API void askr_php_interrupt(int64_t seconds);

/* The last PHP error of the last askr_php_run (PG(last_error_*) before its request shutdown):
 * its type (0: none), message, file and line; the strings are the shim's, valid until the next run. */
ASKR_API int32_t askr_php_last_error(askr_str *message, askr_str *file, int64_t *line);

/* zend_memory_usage(0) of the PHP thread, in bytes. PHP thread only. */
ASKR_API int64_t askr_php_memory_usage(void);

#endif
