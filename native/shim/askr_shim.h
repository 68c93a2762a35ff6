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
 * The layout of every struct here is mirrored in dotnet/src/Askr/Php/Interop/ShimInterop.cs;
 * change both and bump ASKR_SHIM_ABI together.
 */
#ifndef ASKR_SHIM_H
#define ASKR_SHIM_H

#include <stdint.h>

#define ASKR_SHIM_ABI 4

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

/* Results of the take callback. */
#define ASKR_TAKE_REQUEST 1
#define ASKR_TAKE_TIMEOUT 0
#define ASKR_TAKE_SHUTDOWN (-1)

/* Results of the send, chunk and file callbacks. */
#define ASKR_SEND_OK 0
#define ASKR_SEND_CLIENT_GONE 1      /* not an error for PHP: the response is dropped */
#define ASKR_SEND_NO_REQUEST (-1)    /* nothing to answer: a PHP Error is thrown */
#define ASKR_SEND_FILE_ERROR (-2)    /* send_file could not open the file */
#define ASKR_SEND_FAILED (-3)        /* any other failure in C# */

/* flags of the send callback */
#define ASKR_SEND_FLAG_STREAM 1

/* Levels of the log callback (syslog numbering, as PHP's log_message gives them). */
#define ASKR_LOG_ERROR 3
#define ASKR_LOG_WARNING 4
#define ASKR_LOG_NOTICE 5
#define ASKR_LOG_INFO 6

/* A column of a shared table, as C# lays out a row's column area (dotnet/src/Askr/Tables/TableSchema.cs):
 * int: int64 value at offset; float: double at offset; string: int32 length at offset, bytes after it. */
#define ASKR_COLUMN_INT 1
#define ASKR_COLUMN_FLOAT 2
#define ASKR_COLUMN_STRING 3

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
} askr_table_info;

/* One batch of a table scan: count rows; keys[i] and the column area at areas + i * column_bytes. */
typedef struct askr_scan {
    int64_t next_cursor;   /* 0: the walk is complete */
    int64_t count;
    const askr_str *keys;
    const uint8_t *areas;
} askr_scan;

/* Results of the table callbacks (C#'s WriteStatus, plus lookups). */
#define ASKR_TABLE_OK 0
#define ASKR_TABLE_FULL 1
#define ASKR_TABLE_BAD_KEY 2
#define ASKR_TABLE_NOT_NUMERIC 3
#define ASKR_TABLE_NO_COLUMN 4
#define ASKR_TABLE_FOUND 1
#define ASKR_TABLE_MISSING 0
#define ASKR_TABLE_NO_TABLE (-1)
#define ASKR_TABLE_NO_STORE (-2)

/* Outcome of one task of Ephpm\Octane\dispatch_tasks (C#'s TaskOutcomeStatus). */
#define ASKR_TASK_OK 0
#define ASKR_TASK_ERROR 1
#define ASKR_TASK_TIMEOUT 2
#define ASKR_TASK_UNAVAILABLE 3

typedef struct askr_task_result {
    int32_t status;
    int32_t reserved;
    askr_str data;     /* the task worker's answer (ASKR_TASK_OK), or a message */
} askr_task_result;

typedef struct askr_callbacks {
    /* Blocks up to timeout_ms (-1: no limit) for the next request; fills *out on ASKR_TAKE_REQUEST. */
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

    /* Runs payloads on the node's task workers; with wait, blocks up to timeout_ms and fills
     * *results with count entries (valid until the next call). Returns 0, or < 0 when this
     * worker cannot dispatch (no supervisor). */
    int32_t (*dispatch)(const askr_str *payloads, int64_t count, int64_t timeout_ms, int32_t wait,
                        const askr_task_result **results);
} askr_callbacks;

/* Results of askr_php_run. */
#define ASKR_RUN_OK 0            /* the script returned, or called exit() */
#define ASKR_RUN_BAILOUT 1       /* a fatal error (incl. memory exhaustion, timeout) ended it */
#define ASKR_RUN_STARTUP_FAILED 2

ASKR_API int32_t askr_shim_abi(void);

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

/* zend_memory_usage(0) of the PHP thread, in bytes. PHP thread only. */
ASKR_API int64_t askr_php_memory_usage(void);

#endif
