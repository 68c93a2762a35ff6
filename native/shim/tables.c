/*
 * The shared tables: the table natives (Ephpm\Octane\table_*) and the class Ephpm\Octane\Table,
 * whose methods run the same operations without a PHP frame around them. The schema of each
 * table opened in this PHP request is kept here, so rows are converted without a callback.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zend_exceptions.h>
#include <zend_interfaces.h>
#include <ext/spl/spl_exceptions.h>

/* The schema of an opened table, kept for this PHP request (released at request shutdown). */
typedef struct askr_shim_column {
    zend_string *name;
    int32_t type;
    int32_t size;
    int32_t offset;
} askr_shim_column;

typedef struct askr_shim_table {
    zend_string *name;
    int64_t rows;
    int64_t column_count;
    int64_t column_bytes;
    askr_shim_column *columns;
    /* The shared memory of the table (askr_table_info), NULL when the runtime gave none. */
    uint8_t *memory;
    uint8_t *row_base;           /* row 1 */
    uint64_t bucket_mask;
    int64_t row_bytes;
    int64_t *clock;
    const int32_t *replicated;
    uint64_t node_id;
    int64_t clock_offset_ms;
} askr_shim_table;

static int32_t g_pid;   /* what a bucket lock word holds while this process owns it */

static askr_shim_table *g_tables;   /* indexed by handle */
static size_t g_tables_cap;

/* A table handle as Ephpm\Octane\Table keeps it: no error, the caller says what is wrong. */
static zend_always_inline askr_shim_table *table_at(zend_long handle)
{
    if (UNEXPECTED(handle < 1 || (size_t)handle >= g_tables_cap || !g_tables[handle].name)) return NULL;
    return &g_tables[handle];
}

static askr_shim_table *table_of(zend_long handle)
{
    askr_shim_table *t = table_at(handle);
    if (!t) zend_argument_value_error(1, "is not a table handle from Ephpm\\Octane\\table_open()");
    return t;
}

/* Keys are 1 to ASKR_TABLE_LIMIT_KEY_BYTES bytes. The error names the native (fn) and its $key argument, also when an
 * Ephpm\Octane\Table method is what was called: the message is the native's, whichever way in. */
static zend_always_inline bool key_ok(zend_string *key, const char *fn)
{
    if (UNEXPECTED(ZSTR_LEN(key) == 0 || ZSTR_LEN(key) > ASKR_TABLE_LIMIT_KEY_BYTES)) {
        zend_value_error("Ephpm\\Octane\\%s(): Argument #2 ($key) must be a key of 1 to " ZEND_TOSTR(ASKR_TABLE_LIMIT_KEY_BYTES) " bytes, %zu bytes given", fn, ZSTR_LEN(key));
        return false;
    }
    return true;
}

void askr_tables_release(void)
{
    for (size_t i = 0; i < g_tables_cap; i++) {
        askr_shim_table *t = &g_tables[i];
        if (t->name) zend_string_release(t->name);
        for (int64_t c = 0; c < t->column_count; c++) zend_string_release(t->columns[c].name);
        if (t->columns) efree(t->columns);
    }
    if (g_tables) efree(g_tables);
    g_tables = NULL;
    g_tables_cap = 0;
}

static void column_value(const askr_shim_column *c, const uint8_t *area, zval *out)
{
    const uint8_t *p = area + c->offset;
    switch (c->type) {
    case ASKR_COLUMN_INT: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        ZVAL_LONG(out, (zend_long)v);
        break;
    }
    case ASKR_COLUMN_FLOAT: {
        double v;
        memcpy(&v, p, sizeof v);
        ZVAL_DOUBLE(out, v);
        break;
    }
    default: {
        int32_t len;
        memcpy(&len, p, sizeof len);
        if (len < 0) len = 0;
        if (len > c->size) len = c->size;
        ZVAL_STRINGL_FAST(out, (const char *)p + 4, (size_t)len);
        break;
    }
    }
}

/* The names are distinct and hashed (table_open): appended without a lookup. (They may not be
 * interned: with opcache, a name the script never wrote stays a plain string, which the append
 * then adds a reference to.) */
static void row_to_array(const askr_shim_table *t, const uint8_t *area, zval *out)
{
    array_init_size(out, (uint32_t)t->column_count);
    HashTable *ht = Z_ARRVAL_P(out);
    zend_hash_real_init_mixed(ht);
    for (int64_t i = 0; i < t->column_count; i++) {
        zval v;
        column_value(&t->columns[i], area, &v);
        _zend_hash_append(ht, t->columns[i].name, &v);
    }
}

static int64_t column_index_slow(const askr_shim_table *t, zend_string *name)
{
    zend_ulong h = zend_string_hash_val(name);
    for (int64_t i = 0; i < t->column_count; i++) {
        zend_string *c = t->columns[i].name;
        if (ZSTR_H(c) == h && zend_string_equal_content(c, name)) return i;
    }
    return -1;
}

/* The column names are interned at table_open, so a name written in the script (an interned
 * literal) is usually the very same zend_string: compared by pointer first, then by hash and bytes. */
static zend_always_inline int64_t column_index(const askr_shim_table *t, zend_string *name)
{
    for (int64_t i = 0; i < t->column_count; i++) {
        if (t->columns[i].name == name) return i;
    }
    return column_index_slow(t, name);
}

static void throw_table_status(const askr_shim_table *t, int32_t rc)
{
    switch (rc) {
    case ASKR_TABLE_FULL:
        zend_throw_exception_ex(spl_ce_RuntimeException, 0,
            "Table [%s] is full: all %" PRId64 " rows are in use. Declare more rows in config/octane.php ('%s:rows').",
            ZSTR_VAL(t->name), t->rows, ZSTR_VAL(t->name));
        break;
    case ASKR_TABLE_BAD_KEY:
        zend_value_error("Table keys must be 1 to " ZEND_TOSTR(ASKR_TABLE_LIMIT_KEY_BYTES) " bytes");
        break;
    case ASKR_TABLE_NOT_NUMERIC:
        zend_value_error("Only int and float columns of table [%s] can be incremented", ZSTR_VAL(t->name));
        break;
    case ASKR_TABLE_NO_COLUMN:
        zend_value_error("Table [%s] has no such column", ZSTR_VAL(t->name));
        break;
    default:
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Table [%s]: the runtime failed (code %d)", ZSTR_VAL(t->name), rc);
        break;
    }
}

ZEND_FUNCTION(Ephpm_Octane_table_names)
{
    ZEND_PARSE_PARAMETERS_NONE();
    const askr_str *names = NULL;
    int64_t count = 0;
    int32_t rc = askr_cb.table_names(&names, &count);
    array_init(return_value);
    if (rc != ASKR_TABLE_OK) return; /* no store: no tables */
    for (int64_t i = 0; i < count; i++) {
        add_next_index_stringl(return_value, names[i].ptr, (size_t)names[i].len);
    }
}

ZEND_FUNCTION(Ephpm_Octane_table_open)
{
    zend_string *name;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_STR(name)
    ZEND_PARSE_PARAMETERS_END();
    askr_table_info info;
    memset(&info, 0, sizeof info);
    int32_t rc = askr_cb.table_open ? askr_cb.table_open(ZSTR_VAL(name), (int64_t)ZSTR_LEN(name), &info) : ASKR_TABLE_NO_STORE;
    if (rc == ASKR_TABLE_NO_STORE) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0,
            "Table [%s] cannot be opened: this askr server has no tables (start it with --tables, as `php artisan octane:start --server=askr` does)", ZSTR_VAL(name));
        RETURN_THROWS();
    }
    if (rc != ASKR_TABLE_OK) {
        zend_throw_exception_ex(spl_ce_InvalidArgumentException, 0, "Table [%s] is not declared (config/octane.php 'tables')", ZSTR_VAL(name));
        RETURN_THROWS();
    }
    if ((size_t)info.handle >= g_tables_cap) {
        size_t cap = (size_t)info.handle + 8;
        g_tables = erealloc(g_tables, sizeof(askr_shim_table) * cap);
        memset(g_tables + g_tables_cap, 0, sizeof(askr_shim_table) * (cap - g_tables_cap));
        g_tables_cap = cap;
    }
    askr_shim_table *t = &g_tables[info.handle];
    if (!t->name) {
        t->name = zend_string_copy(name);
        t->rows = info.rows;
        t->column_count = info.column_count;
        t->column_bytes = info.column_bytes;
        t->columns = ecalloc((size_t)(info.column_count ? info.column_count : 1), sizeof(askr_shim_column));
        for (int64_t i = 0; i < info.column_count; i++) {
            const askr_column *c = &info.columns[i];
            t->columns[i].name = zend_new_interned_string(zend_string_init(c->name.ptr, (size_t)c->name.len, 0));
            zend_string_hash_val(t->columns[i].name);
            t->columns[i].type = c->type;
            t->columns[i].size = c->size;
            t->columns[i].offset = c->offset;
        }
        if (info.memory && info.bucket_count > 0 && (info.bucket_count & (info.bucket_count - 1)) == 0 && info.clock && info.replicated) {
            t->memory = info.memory;
            t->bucket_mask = (uint64_t)info.bucket_count - 1;
            t->row_base = info.memory + ASKR_TABLE_LAYOUT_HEADER_BYTES + info.bucket_count * ASKR_TABLE_LAYOUT_BUCKET_BYTES;
            t->row_bytes = info.row_bytes;
            t->clock = info.clock;
            t->replicated = info.replicated;
            t->node_id = info.node_id;
            t->clock_offset_ms = info.clock_offset_ms;
            g_pid = (int32_t)getpid();
        }
    }
    array_init_size(return_value, 3);
    add_assoc_long_ex(return_value, "handle", 6, (zend_long)info.handle);
    add_assoc_long_ex(return_value, "rows", 4, (zend_long)t->rows);
    zval columns;
    array_init_size(&columns, (uint32_t)t->column_count);
    for (int64_t i = 0; i < t->column_count; i++) {
        zval col;
        array_init_size(&col, 2);
        add_assoc_long_ex(&col, "type", 4, t->columns[i].type);
        add_assoc_long_ex(&col, "size", 4, t->columns[i].size);
        zend_hash_update(Z_ARRVAL(columns), t->columns[i].name, &col);
    }
    add_assoc_zval_ex(return_value, "columns", 7, &columns);
}

/* ---------- the rows, read and incremented in place ----------
 *
 * The same memory, layout (ASKR_TABLE_LAYOUT_*) and locks as dotnet/src/Askr/Tables/SharedTable.cs,
 * which is the reference: a key's bucket lock (the owner's pid in an int32, taken over from a
 * process that died holding it) guards its chain and its rows' contents. The shim does here what
 * needs no allocation in the store: get, exists, and set and incr of an existing row of a store
 * that is not replicated (a replicated store's writes go to the change ring, which stays C#'s). Every
 * other case (a new row, a tombstone, a replicated store) goes through the callbacks, whose C#
 * does it all again under the lock: nothing is left half done here. No PHP allocation happens
 * while a lock is held, so a PHP bailout (memory limit) cannot leave one taken. */

static zend_always_inline uint64_t read_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, sizeof v); return v; }
static zend_always_inline uint32_t read_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, sizeof v); return v; }

/* SharedTable.BucketHash, bit for bit: the rows' placement is C#'s. */
static zend_always_inline uint64_t bucket_hash(const uint8_t *p, size_t n)
{
    const uint64_t M = 0x9E3779B97F4A7C15ULL;
    uint64_t h = (uint64_t)n * M, w;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8) {
            h = (h ^ read_u64(p + i)) * M;
            h ^= h >> 32;
        }
        w = read_u64(p + n - 8);
    } else if (n >= 4) {
        w = read_u32(p) | (uint64_t)read_u32(p + n - 4) << 32;
    } else {
        w = n == 0 ? 0 : p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
    }
    h = (h ^ w) * M;
    h ^= h >> 32;
    h *= M;
    return h ^ (h >> 29);
}

static ZEND_COLD zend_never_inline void bucket_lock_contended(int32_t *word)
{
    for (uint32_t spins = 1;; spins++) {
        int32_t owner = __atomic_load_n(word, __ATOMIC_RELAXED);
        if (owner == 0) {
            int32_t expected = 0;
            if (__atomic_compare_exchange_n(word, &expected, g_pid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
        } else if (spins % 4096 == 0 && owner != g_pid && kill(owner, 0) != 0 && errno == ESRCH) {
            /* The owner died holding the lock (kill -9 mid-operation): take it over, as C# does. */
            if (__atomic_compare_exchange_n(word, &owner, g_pid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
        }
        if (spins < 32) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

static zend_always_inline int32_t *bucket_lock(const askr_shim_table *t, const zend_string *key)
{
    int32_t *word = (int32_t *)(t->memory + ASKR_TABLE_LAYOUT_HEADER_BYTES)
        + (bucket_hash((const uint8_t *)ZSTR_VAL(key), ZSTR_LEN(key)) & t->bucket_mask) * 2;
    int32_t expected = 0;
    if (EXPECTED(__atomic_compare_exchange_n(word, &expected, g_pid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))) return word;
    bucket_lock_contended(word);
    return word;
}

static zend_always_inline void bucket_unlock(int32_t *word) { __atomic_store_n(word, 0, __ATOMIC_RELEASE); }

/* The live row of key in the chain of a locked bucket, or NULL (absent or a tombstone). */
static zend_always_inline uint8_t *find_row(const askr_shim_table *t, const int32_t *word, const zend_string *key)
{
    int32_t index = word[1];
    while (index != 0) {
        uint8_t *row = t->row_base + (int64_t)(index - 1) * t->row_bytes;
        int32_t klen;
        memcpy(&klen, row + ASKR_TABLE_LAYOUT_ROW_OFF_KEY_LENGTH, sizeof klen);
        if ((size_t)klen == ZSTR_LEN(key) && memcmp(row + ASKR_TABLE_LAYOUT_ROW_OFF_KEY, ZSTR_VAL(key), ZSTR_LEN(key)) == 0) {
            int32_t flags;
            memcpy(&flags, row + ASKR_TABLE_LAYOUT_ROW_OFF_FLAGS, sizeof flags);
            return (flags & ASKR_TABLE_LAYOUT_ROW_FLAG_TOMBSTONE) ? NULL : row;
        }
        memcpy(&index, row + ASKR_TABLE_LAYOUT_ROW_OFF_NEXT, sizeof index);
    }
    return NULL;
}

/* Copies one column's value out of a row's column area: numbers whole, a string as long as it is. */
static zend_always_inline void copy_column(const askr_shim_column *c, const uint8_t *from, uint8_t *to)
{
    if (c->type != ASKR_COLUMN_STRING) {
        memcpy(to + c->offset, from + c->offset, 8);
        return;
    }
    int32_t len;
    memcpy(&len, from + c->offset, sizeof len);
    if (len < 0) len = 0;
    if (len > c->size) len = c->size;
    memcpy(to + c->offset, from + c->offset, 4 + (size_t)len);
}

/* HybridClock.Next(): max(physical, last + 1), physical in Unix ms << 16. */
static zend_always_inline int64_t clock_next(const askr_shim_table *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    int64_t physical = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + t->clock_offset_ms) << 16;
    int64_t last = __atomic_load_n(t->clock, __ATOMIC_RELAXED);
    for (;;) {
        int64_t next = physical > last + 1 ? physical : last + 1;
        if (__atomic_compare_exchange_n(t->clock, &last, next, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return next;
    }
}

/* SharedTable.Increment of a row that exists, in place. false: the row is absent (or a tombstone),
 * nothing was written, the caller takes the callback (which creates the row). */
static zend_always_inline bool incr_in_place(const askr_shim_table *t, zend_string *key, int64_t column, bool float_column,
    int64_t by_long, double by_double, zval *return_value)
{
    int32_t *word = bucket_lock(t, key);
    uint8_t *row = find_row(t, word, key);
    if (UNEXPECTED(!row)) {
        bucket_unlock(word);
        return false;
    }
    uint8_t *value = row + ASKR_TABLE_LAYOUT_ROW_HEADER_BYTES + t->columns[column].offset;
    uint8_t *meta = row + ASKR_TABLE_LAYOUT_ROW_HEADER_BYTES + t->column_bytes + column * ASKR_TABLE_LAYOUT_COLUMN_META_BYTES;
    int64_t clock = clock_next(t);
    if (float_column) {
        double v, share;
        memcpy(&v, value, sizeof v);
        v += by_double;
        memcpy(value, &v, sizeof v);
        memcpy(&share, meta + 8, sizeof share);
        share += by_double;
        memcpy(meta + 8, &share, sizeof share);
        RETVAL_DOUBLE(v);
    } else {
        uint64_t v, share;   /* unsigned: wraps as C#'s unchecked adds */
        memcpy(&v, value, sizeof v);
        v += (uint64_t)by_long;
        memcpy(value, &v, sizeof v);
        memcpy(&share, meta + 8, sizeof share);
        share += (uint64_t)by_long;
        memcpy(meta + 8, &share, sizeof share);
        RETVAL_LONG((zend_long)(int64_t)v);
    }
    memcpy(meta + 16, &clock, sizeof clock);
    memcpy(row + ASKR_TABLE_LAYOUT_ROW_OFF_CLOCK, &clock, sizeof clock);
    memcpy(row + ASKR_TABLE_LAYOUT_ROW_OFF_ORIGIN, &t->node_id, sizeof t->node_id);
    bucket_unlock(word);
    return true;
}

/* SharedTable.Set of a row that exists, in place: the present columns of area (laid out as the
 * column area, strings' lengths already checked), a new epoch for each of them (set clock, no
 * counter share). false: the row is absent (or a tombstone), nothing was written, the caller
 * takes the callback (which creates the row). */
static zend_always_inline bool set_in_place(const askr_shim_table *t, zend_string *key, const uint8_t *area, uint64_t present)
{
    int32_t *word = bucket_lock(t, key);
    uint8_t *row = find_row(t, word, key);
    if (UNEXPECTED(!row)) {
        bucket_unlock(word);
        return false;
    }
    uint8_t *values = row + ASKR_TABLE_LAYOUT_ROW_HEADER_BYTES;
    for (uint64_t bits = present; bits; bits &= bits - 1) {
        const askr_shim_column *c = &t->columns[__builtin_ctzll(bits)];
        if (c->type == ASKR_COLUMN_STRING) {
            int32_t len;
            memcpy(&len, area + c->offset, sizeof len);
            memcpy(values + c->offset, &len, sizeof len);
            memcpy(values + c->offset + 4, area + c->offset + 4, (size_t)len);
        } else {
            memcpy(values + c->offset, area + c->offset, 8);
        }
    }
    int64_t clock = clock_next(t);
    memcpy(row + ASKR_TABLE_LAYOUT_ROW_OFF_CLOCK, &clock, sizeof clock);
    memcpy(row + ASKR_TABLE_LAYOUT_ROW_OFF_ORIGIN, &t->node_id, sizeof t->node_id);
    for (uint64_t bits = present; bits; bits &= bits - 1) {
        uint8_t *meta = values + t->column_bytes + (int64_t)__builtin_ctzll(bits) * ASKR_TABLE_LAYOUT_COLUMN_META_BYTES;
        /* A new epoch for the column: earlier increments are folded into the value. */
        memcpy(meta, &clock, sizeof clock);
        memset(meta + 8, 0, 16);
    }
    bucket_unlock(word);
    return true;
}

/* The operations, shared by the natives (Ephpm\Octane\table_*) and the methods of
 * Ephpm\Octane\Table. Each either sets return_value or throws (EG(exception)). */

static void table_get_op(zend_long handle, const askr_shim_table *t, zend_string *key, zend_string *column, zval *return_value)
{
    if (!key_ok(key, "table_get")) return;
    if (EXPECTED(t->memory != NULL)) {
        /* In place: the values are copied out under the bucket lock, the zvals made after it. */
        int64_t i = -1;
        if (column && (i = column_index(t, column)) < 0) {
            /* An undeclared column: false, whether the row exists or not. */
            RETURN_FALSE;
        }
        uint8_t stack_area[1024];
        uint8_t *copy = t->column_bytes <= (int64_t)sizeof stack_area ? stack_area : emalloc((size_t)t->column_bytes);
        int32_t *word = bucket_lock(t, key);
        const uint8_t *row = find_row(t, word, key);
        if (row) {
            const uint8_t *from = row + ASKR_TABLE_LAYOUT_ROW_HEADER_BYTES;
            if (i >= 0) {
                copy_column(&t->columns[i], from, copy);
            } else {
                for (int64_t c = 0; c < t->column_count; c++) copy_column(&t->columns[c], from, copy);
            }
        }
        bucket_unlock(word);
        if (!row) {
            RETVAL_FALSE;
        } else if (i >= 0) {
            column_value(&t->columns[i], copy, return_value);
        } else {
            row_to_array(t, copy, return_value);
        }
        if (copy != stack_area) efree(copy);
        return;
    }
    const uint8_t *area = NULL;
    int32_t rc = askr_cb.table_get(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), &area);
    if (rc != ASKR_TABLE_FOUND) {
        if (rc < 0) { throw_table_status(t, rc); return; }
        RETURN_FALSE;
    }
    if (column) {
        int64_t i = column_index(t, column);
        if (i < 0) RETURN_FALSE;
        column_value(&t->columns[i], area, return_value);
        return;
    }
    row_to_array(t, area, return_value);
}

static void table_set_op(zend_long handle, const askr_shim_table *t, zend_string *key, HashTable *row, zval *return_value)
{
    if (!key_ok(key, "table_set")) return;
    uint8_t stack_area[1024];
    uint8_t *area = t->column_bytes <= (int64_t)sizeof stack_area ? stack_area : emalloc((size_t)t->column_bytes);
    uint64_t present = 0;
    zend_string *name;
    zval *value;
    ZEND_HASH_FOREACH_STR_KEY_VAL(row, name, value) {
        if (!name) continue;
        int64_t i = column_index(t, name);
        if (i < 0) continue; /* undeclared columns are ignored, as by Swoole\Table::set */
        const askr_shim_column *c = &t->columns[i];
        uint8_t *p = area + c->offset;
        ZVAL_DEREF(value);
        if (c->type == ASKR_COLUMN_INT) {
            int64_t v = (int64_t)zval_get_long(value);
            memcpy(p, &v, sizeof v);
        } else if (c->type == ASKR_COLUMN_FLOAT) {
            double v = zval_get_double(value);
            memcpy(p, &v, sizeof v);
        } else {
            zend_string *str = zval_try_get_string(value);
            if (!str) goto done;
            if (ZSTR_LEN(str) > (size_t)c->size) {
                zend_value_error("Value for column [%s] of table [%s] is %zu bytes, more than its size of %d",
                    ZSTR_VAL(c->name), ZSTR_VAL(t->name), ZSTR_LEN(str), c->size);
                zend_string_release(str);
                goto done;
            }
            int32_t len = (int32_t)ZSTR_LEN(str);
            memcpy(p, &len, sizeof len);
            memcpy(p + 4, ZSTR_VAL(str), ZSTR_LEN(str));
            zend_string_release(str);
        }
        present |= 1ULL << i;
    } ZEND_HASH_FOREACH_END();
    if (EXPECTED(t->memory != NULL) && !__atomic_load_n(t->replicated, __ATOMIC_ACQUIRE) && set_in_place(t, key, area, present)) {
        RETVAL_TRUE;
        goto done;
    }
    {
        int32_t rc = askr_cb.table_set(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), area, present);
        if (rc != ASKR_TABLE_OK) {
            throw_table_status(t, rc);
        } else {
            RETVAL_TRUE;
        }
    }
done:
    if (area != stack_area) efree(area);
}

/* by: an int or float zval, or NULL for 1. */
static void table_incr_op(zend_long handle, const askr_shim_table *t, zend_string *key, zend_string *column, const zval *by, zval *return_value)
{
    if (!key_ok(key, "table_incr")) return;
    int64_t i = column_index(t, column);
    if (UNEXPECTED(i < 0)) {
        zend_value_error("Ephpm\\Octane\\table_incr(): Argument #3 ($column) must be a column of table [%s], [%s] is not",
            ZSTR_VAL(t->name), ZSTR_VAL(column));
        return;
    }
    if (UNEXPECTED(t->columns[i].type == ASKR_COLUMN_STRING)) {
        zend_value_error("Ephpm\\Octane\\table_incr(): Argument #3 ($column) must be an int or float column, [%s] of table [%s] is a string column",
            ZSTR_VAL(column), ZSTR_VAL(t->name));
        return;
    }
    /* A float column adds by as a double; an int column adds it as an int (a float by truncated). */
    int32_t by_is_float = by && Z_TYPE_P(by) == IS_DOUBLE;
    int64_t by_long = by ? (by_is_float ? (int64_t)Z_DVAL_P(by) : (int64_t)Z_LVAL_P(by)) : 1;
    double by_double = by ? (by_is_float ? Z_DVAL_P(by) : (double)Z_LVAL_P(by)) : 1.0;
    int32_t float_column = t->columns[i].type == ASKR_COLUMN_FLOAT;
    if (EXPECTED(t->memory != NULL) && !__atomic_load_n(t->replicated, __ATOMIC_ACQUIRE)
        && incr_in_place(t, key, i, float_column, by_long, by_double, return_value)) {
        return;
    }
    int64_t out_long = 0;
    double out_double = 0;
    int32_t rc = askr_cb.table_incr(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), i, float_column, by_long, by_double, &out_long, &out_double);
    if (UNEXPECTED(rc != ASKR_TABLE_OK)) {
        throw_table_status(t, rc);
        return;
    }
    if (float_column) RETURN_DOUBLE(out_double);
    RETURN_LONG((zend_long)out_long);
}

/* del and exists. */
static void table_key_op(zend_long handle, const askr_shim_table *t, zend_string *key, int32_t (*op)(int64_t, const char *, int64_t),
    const char *fn, zval *return_value)
{
    if (!key_ok(key, fn)) return;
    if (op == askr_cb.table_exists && EXPECTED(t->memory != NULL)) {
        int32_t *word = bucket_lock(t, key);
        bool found = find_row(t, word, key) != NULL;
        bucket_unlock(word);
        RETURN_BOOL(found);
    }
    int32_t rc = op(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key));
    if (UNEXPECTED(rc < 0)) {
        throw_table_status(t, rc);
        return;
    }
    RETURN_BOOL(rc == ASKR_TABLE_FOUND);
}

/* ---------- the natives ---------- */

ZEND_FUNCTION(Ephpm_Octane_table_get)
{
    zend_long handle;
    zend_string *key, *column = NULL;
    ZEND_PARSE_PARAMETERS_START(2, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR_OR_NULL(column)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_get_op(handle, t, key, column, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_set)
{
    zend_long handle;
    zend_string *key;
    HashTable *row;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_ARRAY_HT(row)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_set_op(handle, t, key, row, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_incr)
{
    zend_long handle;
    zend_string *key, *column;
    zval *by = NULL;
    ZEND_PARSE_PARAMETERS_START(3, 4)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_STR(column)
        Z_PARAM_OPTIONAL
        Z_PARAM_NUMBER(by)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_incr_op(handle, t, key, column, by, return_value);
}

static void table_key_native(INTERNAL_FUNCTION_PARAMETERS, int32_t (*op)(int64_t, const char *, int64_t), const char *fn)
{
    zend_long handle;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_key_op(handle, t, key, op, fn, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_del) { table_key_native(INTERNAL_FUNCTION_PARAM_PASSTHRU, askr_cb.table_del, "table_del"); }
ZEND_FUNCTION(Ephpm_Octane_table_exists) { table_key_native(INTERNAL_FUNCTION_PARAM_PASSTHRU, askr_cb.table_exists, "table_exists"); }

ZEND_FUNCTION(Ephpm_Octane_table_count)
{
    zend_long handle;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_LONG(handle)
    ZEND_PARSE_PARAMETERS_END();
    if (!table_of(handle)) RETURN_THROWS();
    RETURN_LONG((zend_long)askr_cb.table_count(handle));
}

ZEND_FUNCTION(Ephpm_Octane_table_scan)
{
    zend_long handle, cursor, count;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_LONG(cursor)
        Z_PARAM_LONG(count)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    if (cursor < 0) { zend_argument_value_error(2, "must be 0 or a cursor returned by a previous scan"); RETURN_THROWS(); }
    if (count < 1) { zend_argument_value_error(3, "must be at least 1"); RETURN_THROWS(); }
    askr_scan scan;
    memset(&scan, 0, sizeof scan);
    int32_t rc = askr_cb.table_scan(handle, cursor, count, &scan);
    if (rc < 0) {
        throw_table_status(t, rc);
        RETURN_THROWS();
    }
    zval rows;
    array_init_size(&rows, (uint32_t)scan.count);
    for (int64_t i = 0; i < scan.count; i++) {
        zval row;
        row_to_array(t, scan.areas + i * t->column_bytes, &row);
        zend_symtable_str_update(Z_ARRVAL(rows), scan.keys[i].ptr, (size_t)scan.keys[i].len, &row);
    }
    array_init_size(return_value, 2);
    add_next_index_long(return_value, (zend_long)scan.next_cursor);
    add_next_index_zval(return_value, &rows);
}

/* ---------- Ephpm\Octane\Table ---------- */

/* An abstract class whose table operations are internal methods: a PHP class that extends it
 * (the driver's Swoole\Table, and through it the table Octane::table() returns) gets them
 * without a PHP frame around the native call. The handle is kept beside the zend_object, set
 * once by bindHandle(). A ValueError of get/exists/del/incr/decr is passed through
 * $this->clearer($e, $key) and one of set through $this->setFailure($e, $key, $value), and
 * what they return is thrown: by default the error itself; the driver overrides them. */

typedef struct askr_table_object {
    zend_long handle;   /* from table_open(); 0 until bindHandle() */
    zend_object std;
} askr_table_object;

static zend_class_entry *askr_table_ce;
static zend_object_handlers askr_table_handlers;

static zend_always_inline askr_table_object *table_object(zend_object *obj)
{
    return (askr_table_object *)((char *)obj - XtOffsetOf(askr_table_object, std));
}

static zend_object *table_object_create(zend_class_entry *ce)
{
    askr_table_object *o = zend_object_alloc(sizeof(askr_table_object), ce);
    o->handle = 0;
    zend_object_std_init(&o->std, ce);
    object_properties_init(&o->std, ce);
    o->std.handlers = &askr_table_handlers;
    return &o->std;
}

static zend_object *table_object_clone(zend_object *old)
{
    zend_object *copy = table_object_create(old->ce);
    zend_objects_clone_members(copy, old);
    table_object(copy)->handle = table_object(old)->handle;
    return copy;
}

/* The table of $this, or NULL with an Error thrown when bindHandle() has not been called. */
static zend_always_inline askr_shim_table *bound_table(zend_object *self, zend_long *handle)
{
    *handle = table_object(self)->handle;
    askr_shim_table *t = table_at(*handle);
    if (UNEXPECTED(!t)) {
        zend_throw_error(NULL, "Table object of class %s is not open: its constructor must call bindHandle() with a handle from Ephpm\\Octane\\table_open()",
            ZSTR_VAL(self->ce->name));
    }
    return t;
}

/* When the operation threw a ValueError: calls $this->{hook}($e, $key[, $extra]) and throws what
 * it returns instead (or lets what it throws through). Other exceptions are left as they are. */
static ZEND_COLD void through_hook(zend_object *self, const char *hook, size_t hook_len, zend_string *key, zval *extra)
{
    zend_object *e = EG(exception);
    if (!e || !instanceof_function(e->ce, zend_ce_value_error)) return;
    zend_function *fn = zend_hash_str_find_ptr(&self->ce->function_table, hook, hook_len);
    if (!fn) return;
    zval args[3], rv;
    GC_ADDREF(e);
    zend_clear_exception();
    ZVAL_OBJ(&args[0], e);
    ZVAL_STR(&args[1], key);
    if (extra) ZVAL_COPY_VALUE(&args[2], extra);
    ZVAL_UNDEF(&rv);
    zend_call_known_instance_method(fn, self, &rv, extra ? 3 : 2, args);
    zval_ptr_dtor(&args[0]);
    if (EG(exception)) {
        zval_ptr_dtor(&rv);
        return;
    }
    if (Z_TYPE(rv) == IS_OBJECT && instanceof_function(Z_OBJCE(rv), zend_ce_throwable)) {
        zend_throw_exception_object(&rv);
        return;
    }
    zval_ptr_dtor(&rv);
    zend_throw_error(NULL, "%s::%s() must return a ValueError", ZSTR_VAL(self->ce->name), ZSTR_VAL(fn->common.function_name));
}

/* Parameters as a PHP method declares them: in coercive mode, null is a TypeError for a string
 * or int|float parameter (zpp would accept it with a deprecation, as for an internal function). */
static zend_always_inline bool method_arg_str(zval *arg, zend_string **dest, uint32_t n)
{
    if (EXPECTED(Z_TYPE_P(arg) == IS_STRING)) {
        *dest = Z_STR_P(arg);
        return true;
    }
    return Z_TYPE_P(arg) != IS_NULL && zend_parse_arg_str_slow(arg, dest, n);
}

static zend_always_inline bool method_arg_number(zval *arg, zval **dest, uint32_t n)
{
    if (EXPECTED(Z_TYPE_P(arg) == IS_LONG || Z_TYPE_P(arg) == IS_DOUBLE)) {
        *dest = arg;
        return true;
    }
    return Z_TYPE_P(arg) != IS_NULL && zend_parse_arg_number_slow(arg, dest, n);
}

#define ASKR_PARAM_STR(dest) \
    Z_PARAM_PROLOGUE(0, 0); \
    if (UNEXPECTED(!method_arg_str(_arg, &dest, _i))) { _expected_type = Z_EXPECTED_STRING; _error_code = ZPP_ERROR_WRONG_ARG; break; }

#define ASKR_PARAM_NUMBER(dest) \
    Z_PARAM_PROLOGUE(0, 0); \
    if (UNEXPECTED(!method_arg_number(_arg, &dest, _i))) { _expected_type = Z_EXPECTED_NUMBER; _error_code = ZPP_ERROR_WRONG_ARG; break; }

ZEND_METHOD(Ephpm_Octane_Table, get)
{
    zend_string *key, *field = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        ASKR_PARAM_STR(key)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR_OR_NULL(field)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_get_op(handle, t, key, field, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

ZEND_METHOD(Ephpm_Octane_Table, set)
{
    zend_string *key;
    zval *value;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        ASKR_PARAM_STR(key)
        Z_PARAM_ARRAY(value)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_set_op(handle, t, key, Z_ARRVAL_P(value), return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("setfailure"), key, value);
}

static zend_always_inline void table_method_incr(INTERNAL_FUNCTION_PARAMETERS, bool negate)
{
    zend_string *key, *column;
    zval *by = NULL;
    ZEND_PARSE_PARAMETERS_START(2, 3)
        ASKR_PARAM_STR(key)
        ASKR_PARAM_STR(column)
        Z_PARAM_OPTIONAL
        ASKR_PARAM_NUMBER(by)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    zval negated;
    if (negate) {
        /* -$incrby, as PHP computes it: -PHP_INT_MIN is a float. */
        if (!by) {
            ZVAL_LONG(&negated, -1);
        } else if (Z_TYPE_P(by) == IS_DOUBLE) {
            ZVAL_DOUBLE(&negated, -Z_DVAL_P(by));
        } else if (Z_LVAL_P(by) == ZEND_LONG_MIN) {
            ZVAL_DOUBLE(&negated, -(double)ZEND_LONG_MIN);
        } else {
            ZVAL_LONG(&negated, -Z_LVAL_P(by));
        }
        by = &negated;
    }
    table_incr_op(handle, t, key, column, by, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

ZEND_METHOD(Ephpm_Octane_Table, incr) { table_method_incr(INTERNAL_FUNCTION_PARAM_PASSTHRU, false); }
ZEND_METHOD(Ephpm_Octane_Table, decr) { table_method_incr(INTERNAL_FUNCTION_PARAM_PASSTHRU, true); }

static zend_always_inline void table_method_key(INTERNAL_FUNCTION_PARAMETERS, int32_t (*op)(int64_t, const char *, int64_t), const char *fn)
{
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        ASKR_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_key_op(handle, t, key, op, fn, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

/* exist() and delete() are Swoole's aliases of exists() and del(). */
ZEND_METHOD(Ephpm_Octane_Table, exists) { table_method_key(INTERNAL_FUNCTION_PARAM_PASSTHRU, askr_cb.table_exists, "table_exists"); }
ZEND_METHOD(Ephpm_Octane_Table, del) { table_method_key(INTERNAL_FUNCTION_PARAM_PASSTHRU, askr_cb.table_del, "table_del"); }

ZEND_METHOD(Ephpm_Octane_Table, bindHandle)
{
    zend_long handle;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_LONG(handle)
    ZEND_PARSE_PARAMETERS_END();
    askr_table_object *o = table_object(Z_OBJ_P(ZEND_THIS));
    if (o->handle != 0) {
        zend_throw_error(NULL, "Ephpm\\Octane\\Table::bindHandle(): this %s is already bound to a table", ZSTR_VAL(Z_OBJCE_P(ZEND_THIS)->name));
        RETURN_THROWS();
    }
    if (!table_of(handle)) RETURN_THROWS();
    o->handle = handle;
}

/* Default: the error as it is. */
ZEND_METHOD(Ephpm_Octane_Table, clearer)
{
    zval *e;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        Z_PARAM_OBJECT_OF_CLASS(e, zend_ce_value_error)
        Z_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    RETURN_COPY(e);
}

/* Default: $this->clearer($e, $key). */
ZEND_METHOD(Ephpm_Octane_Table, setFailure)
{
    zval *e, *value;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_OBJECT_OF_CLASS(e, zend_ce_value_error)
        Z_PARAM_STR(key)
        Z_PARAM_ARRAY(value)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_function *fn = zend_hash_str_find_ptr(&self->ce->function_table, ZEND_STRL("clearer"));
    zval args[2];
    ZVAL_COPY_VALUE(&args[0], e);
    ZVAL_STR(&args[1], key);
    zend_call_known_instance_method(fn, self, return_value, 2, args);
}

void askr_tables_minit(zend_class_entry *table_class)
{
    askr_table_ce = table_class;
    askr_table_ce->create_object = table_object_create;
    memcpy(&askr_table_handlers, zend_get_std_object_handlers(), sizeof askr_table_handlers);
    askr_table_handlers.offset = XtOffsetOf(askr_table_object, std);
    askr_table_handlers.clone_obj = table_object_clone;
}

