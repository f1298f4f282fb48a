/* The matcher's hot path in C: reading the fields patterns use out of event JSON, and matching.
 *
 * matcher.py owns the index (which rules, which conditions, which anchors) and keeps it in the
 * types defined here, so that matching an event runs without the interpreter:
 *
 *   Scanner.scan(data)   walks the JSON bytes of an event along the trie of paths in use and
 *                        returns (out, arrays) exactly as event.extract does for the parsed
 *                        event: per slot, the leaf values found there, and the paths where the
 *                        event has a non-empty array. Everything it does not need is validated
 *                        and skipped, never built. Whenever the answer could differ from
 *                        orjson's (a duplicated key, a dotted key, an escape it does not decode,
 *                        a number orjson reads differently, deep nesting, bad JSON) it returns
 *                        None and the caller parses with orjson instead.
 *   Scanner.extract(d)   the same walk over an event already parsed into dicts and lists.
 *   Condition            one interned field condition: its slot and its operator tests, all in C
 *                        (case folding and IPv4/IPv6 addresses included).
 *   Group                branches with one anchor and the same remaining conditions, and the
 *                        rule ids that own them.
 *   Trie, Ranges         the index structures of prefixes, suffixes and substrings, and of
 *                        numeric ranges and address blocks.
 *   match(...)           candidates from the anchored index, memoised condition tests, and the
 *                        set of matching rule ids.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

enum {
    OP_IN,
    OP_PREFIX,
    OP_SUFFIX,
    OP_EXISTS,
    OP_ANYTHING_BUT,
    OP_NOT_PREFIX,
    OP_NOT_SUFFIX,
    OP_NUMERIC,
    OP_WILDCARD,
    OP_NOT_WILDCARD,
    OP_CIDR,
    OP_IN_IC,
    OP_PREFIX_IC,
    OP_SUFFIX_IC,
    OP_NOT_IN_IC,
};

#define EXACT_INT_LIMIT 9007199254740992.0 /* 2**53: larger ints are compared by values.py */
#define ONES 0x0101010101010101ULL
#define MAX_DEPTH 512                      /* deeper events are left to orjson, which stops at 1024 */

static PyObject *py_key_of; /* values.key_of and values.numeric, for the rare values C leaves to them */
static PyObject *py_numeric;
static PyObject *key_true, *key_false, *key_null; /* values.TRUE, FALSE and NULL */
static PyObject *str_lower;                       /* "lower", interned */
static uint64_t match_epoch;

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* -- operator tests ------------------------------------------------------------------------ */

typedef struct {
    uint64_t hi, lo;
} U128; /* an IPv6 address, or a number's double_key in hi */

static inline int u128_le(U128 a, U128 b) { return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo); }

typedef struct {
    int kind;
    PyObject *a; /* IN: string keys; IN_IC, NOT_IN_IC: folded strings; PREFIX/SUFFIX(_IC): text (folded for
                    _IC); ANYTHING_BUT: strings; NOT_*: tuple; WILDCARD: segments; NOT_WILDCARD: tuple of segments */
    PyObject *b; /* IN: other keys (or NULL); ANYTHING_BUT: numbers */
    double low, high; /* NUMERIC */
    int low_open, high_open;
    int version; /* CIDR: 4 or 6, and the first and last address */
    U128 first, last;
} Op;

/* The double of a comparable number, as values.numeric: 1 with *out set, 0 when not a number. */
static int number_of(PyObject *v, double *out) {
    if (PyFloat_CheckExact(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        return 1;
    }
    if (!PyLong_CheckExact(v))
        return 0;
    double d = PyLong_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred())
        PyErr_Clear();
    else if (d > -EXACT_INT_LIMIT && d < EXACT_INT_LIMIT) {
        *out = d;
        return 1;
    }
    PyObject *r = PyObject_CallOneArg(py_numeric, v);
    if (r == NULL)
        return -1;
    int found = r != Py_None;
    if (found)
        *out = PyFloat_AsDouble(r);
    Py_DECREF(r);
    return found;
}

/* A new reference to the value's key as values.key_of gives it. */
static PyObject *key_of(PyObject *v) {
    if (PyUnicode_CheckExact(v) || PyFloat_CheckExact(v)) {
        Py_INCREF(v);
        return v;
    }
    if (PyLong_CheckExact(v)) {
        double d = PyLong_AsDouble(v);
        if (!(d == -1.0 && PyErr_Occurred()) && d > -EXACT_INT_LIMIT && d < EXACT_INT_LIMIT)
            return PyFloat_FromDouble(d);
        PyErr_Clear();
    }
    if (v == Py_True || v == Py_False || v == Py_None)
        return Py_NewRef(v == Py_True ? key_true : v == Py_False ? key_false : key_null);
    return PyObject_CallOneArg(py_key_of, v);
}

static int tail_any(PyObject *v, PyObject *texts, int direction) {
    Py_ssize_t n = PyTuple_GET_SIZE(texts);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t r = PyUnicode_Tailmatch(v, PyTuple_GET_ITEM(texts, i), 0, PY_SSIZE_T_MAX, direction);
        if (r != 0)
            return (int)r;
    }
    return 0;
}

/* wildcard.matches: segments are the literal parts between the stars. */
static int wildcard_matches(PyObject *segments, PyObject *v) {
    Py_ssize_t n = PyTuple_GET_SIZE(segments), len = PyUnicode_GET_LENGTH(v);
    PyObject *first = PyTuple_GET_ITEM(segments, 0);
    if (n == 1) {
        int r = PyUnicode_Compare(v, first);
        return r == -1 && PyErr_Occurred() ? -1 : r == 0;
    }
    PyObject *last = PyTuple_GET_ITEM(segments, n - 1);
    Py_ssize_t start = PyUnicode_GET_LENGTH(first), end = len - PyUnicode_GET_LENGTH(last);
    if (end < start || PyUnicode_Tailmatch(v, first, 0, len, -1) != 1 || PyUnicode_Tailmatch(v, last, 0, len, 1) != 1)
        return 0;
    for (Py_ssize_t i = 1; i < n - 1; i++) {
        PyObject *middle = PyTuple_GET_ITEM(segments, i);
        Py_ssize_t found = PyUnicode_Find(v, middle, start, end, 1);
        if (found < 0)
            return found == -2 ? -1 : 0;
        start = found + PyUnicode_GET_LENGTH(middle);
    }
    return 1;
}

/* A new reference to the value case-folded as the compiler folds patterns (str.lower): ASCII here,
   other text by str.lower itself. */
static PyObject *fold(PyObject *v) {
    if (!PyUnicode_IS_ASCII(v))
        return PyObject_CallMethodNoArgs(v, str_lower);
    Py_ssize_t n = PyUnicode_GET_LENGTH(v), i = 0;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(v);
    while (i < n && !(s[i] >= 'A' && s[i] <= 'Z'))
        i++;
    if (i == n)
        return Py_NewRef(v);
    PyObject *folded = PyUnicode_New(n, 127);
    if (folded == NULL)
        return NULL;
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(folded);
    for (Py_ssize_t j = 0; j < n; j++)
        d[j] = s[j] >= 'A' && s[j] <= 'Z' ? (Py_UCS1)(s[j] | 0x20) : s[j];
    return folded;
}

/* Four dot-separated digit runs, each at most 255, as ipaddr._parse reads IPv4. */
static int ipv4_of(const char *s, Py_ssize_t len, U128 *address) {
    uint64_t value = 0;
    Py_ssize_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
        if (i >= len || !is_digit((unsigned char)s[i]))
            return 0;
        unsigned octet = 0;
        for (; i < len && is_digit((unsigned char)s[i]); i++)
            if ((octet = octet * 10 + (unsigned)(s[i] - '0')) > 255)
                octet = 256; /* stays out of range however long the run */
        if (octet > 255)
            return 0;
        value = value << 8 | octet;
    }
    if (i != len)
        return 0;
    address->hi = 0;
    address->lo = value;
    return 4;
}

/* Hex digits and colons, as Python's ipaddress.IPv6Address reads them (the same checks in the same
   order), an IPv4-mapped address being IPv4: 6 or 4 with *address set, 0 when not an address. */
static int ipv6_of(const char *s, Py_ssize_t len, U128 *address) {
    const char *part[9];
    Py_ssize_t plen[9], start = 0;
    int n = 0;
    for (Py_ssize_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ':')
            continue;
        if (n == 9)
            return 0; /* more than 8 colons */
        part[n] = s + start;
        plen[n++] = i - start;
        start = i + 1;
    }
    if (n < 3)
        return 0;
    int skip = -1, hi, lo;
    for (int i = 1; i < n - 1; i++) {
        if (plen[i] == 0) {
            if (skip >= 0)
                return 0;
            skip = i;
        }
    }
    if (skip >= 0) {
        hi = skip;
        lo = n - skip - 1;
        if (plen[0] == 0 && --hi)
            return 0;
        if (plen[n - 1] == 0 && --lo)
            return 0;
        if (8 - (hi + lo) < 1)
            return 0;
    } else {
        if (n != 8 || plen[0] == 0 || plen[n - 1] == 0)
            return 0;
        hi = n;
        lo = 0;
    }
    uint16_t groups[8] = {0};
    for (int g = 0; g < hi + lo; g++) {
        int index = g < hi ? g : n - lo + (g - hi);
        if (plen[index] < 1 || plen[index] > 4)
            return 0;
        unsigned value = 0;
        for (Py_ssize_t k = 0; k < plen[index]; k++) {
            unsigned char c = (unsigned char)part[index][k];
            value = value * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        groups[g < hi ? g : 8 - lo + (g - hi)] = (uint16_t)value;
    }
    address->hi = address->lo = 0;
    for (int g = 0; g < 8; g++) {
        if (g < 4)
            address->hi = address->hi << 16 | groups[g];
        else
            address->lo = address->lo << 16 | groups[g];
    }
    if (address->hi == 0 && address->lo >> 32 == 0xFFFF) {
        address->lo &= 0xFFFFFFFFULL;
        return 4;
    }
    return 6;
}

/* ipaddr.parse_ip: 4 or 6 with *address set, or 0 when the value is not an IP address. */
static int ip_of(PyObject *v, U128 *address) {
    if (!PyUnicode_IS_ASCII(v))
        return 0;
    const char *s = (const char *)PyUnicode_1BYTE_DATA(v);
    Py_ssize_t len = PyUnicode_GET_LENGTH(v);
    int colon = 0, ipv6_chars = 1;
    for (Py_ssize_t i = 0; i < len; i++) {
        colon |= s[i] == ':';
        ipv6_chars &= s[i] == ':' || is_hex((unsigned char)s[i]);
    }
    if (colon)
        return ipv6_chars ? ipv6_of(s, len, address) : 0;
    return ipv4_of(s, len, address);
}

/* The key under which a double sorts as an unsigned integer (-0.0 as 0.0): ops and Ranges compare
   numbers by it, so an open bound is the closed bound one key further in. */
static inline uint64_t double_key(double d) {
    d += 0.0;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits >> 63 ? ~bits : bits | 1ULL << 63;
}

static int folded_test(const Op *op, PyObject *v) {
    PyObject *folded = fold(v);
    if (folded == NULL)
        return -1;
    int r;
    if (op->kind == OP_PREFIX_IC || op->kind == OP_SUFFIX_IC) {
        r = (int)PyUnicode_Tailmatch(folded, op->a, 0, PY_SSIZE_T_MAX, op->kind == OP_PREFIX_IC ? -1 : 1);
    } else {
        r = PySet_Contains(op->a, folded);
        if (r >= 0 && op->kind == OP_NOT_IN_IC)
            r = !r;
    }
    Py_DECREF(folded);
    return r;
}

/* Whether the op accepts one event value: 1, 0, or -1 with an exception set. */
static int op_test(const Op *op, PyObject *v) {
    int is_str = PyUnicode_CheckExact(v);
    double d;
    int found;
    switch (op->kind) {
    case OP_IN:
        if (is_str)
            return PySet_Contains(op->a, v);
        if (op->b == NULL)
            return 0;
        {
            PyObject *key = key_of(v);
            if (key == NULL)
                return -1;
            found = PySet_Contains(op->b, key);
            Py_DECREF(key);
            return found;
        }
    case OP_PREFIX:
        return is_str ? (int)PyUnicode_Tailmatch(v, op->a, 0, PY_SSIZE_T_MAX, -1) : 0;
    case OP_SUFFIX:
        return is_str ? (int)PyUnicode_Tailmatch(v, op->a, 0, PY_SSIZE_T_MAX, 1) : 0;
    case OP_EXISTS:
        return 1;
    case OP_ANYTHING_BUT:
        if (is_str) {
            found = PySet_Contains(op->a, v);
            return found < 0 ? -1 : !found;
        }
        found = number_of(v, &d);
        if (found <= 0)
            return found < 0 ? -1 : 1;
        {
            PyObject *number = PyFloat_FromDouble(d);
            if (number == NULL)
                return -1;
            found = PySet_Contains(op->b, number);
            Py_DECREF(number);
            return found < 0 ? -1 : !found;
        }
    case OP_NOT_PREFIX:
    case OP_NOT_SUFFIX:
        if (!is_str)
            return 1;
        found = tail_any(v, op->a, op->kind == OP_NOT_PREFIX ? -1 : 1);
        return found < 0 ? -1 : !found;
    case OP_NUMERIC:
        found = number_of(v, &d);
        if (found <= 0)
            return found;
        if (op->low_open ? !(d > op->low) : !(d >= op->low))
            return 0;
        return op->high_open ? d < op->high : d <= op->high;
    case OP_WILDCARD:
        return is_str ? wildcard_matches(op->a, v) : 0;
    case OP_NOT_WILDCARD:
        if (!is_str)
            return 1;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(op->a); i++) {
            found = wildcard_matches(PyTuple_GET_ITEM(op->a, i), v);
            if (found != 0)
                return found < 0 ? -1 : 0;
        }
        return 1;
    case OP_CIDR:
        if (!is_str)
            return 0;
        {
            U128 ip;
            return ip_of(v, &ip) == op->version && u128_le(op->first, ip) && u128_le(ip, op->last);
        }
    case OP_NOT_IN_IC:
        return is_str ? folded_test(op, v) : 1;
    default: /* IN_IC, PREFIX_IC, SUFFIX_IC */
        return is_str ? folded_test(op, v) : 0;
    }
}

/* -- Condition ------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    Py_ssize_t slot;
    Py_ssize_t users;
    int absent_ok;
    Py_ssize_t id; /* its place in `memo` */
    Py_ssize_t nops;
    Op *ops;
    PyObject *field;
} Condition;

static PyTypeObject ConditionType;

/* Per live condition, by id: (epoch << 1) | result of the match call with that epoch. One small
   dense array, so that a condition many candidates share is looked up without touching it. */
static uint64_t *memo;
static Py_ssize_t memo_cap, next_id;
static Py_ssize_t *free_ids, n_free, free_cap;

static Py_ssize_t take_id(void) {
    if (n_free > 0)
        return free_ids[--n_free];
    if (next_id == memo_cap) {
        Py_ssize_t cap = memo_cap ? memo_cap * 2 : 1024;
        uint64_t *grown = PyMem_Realloc(memo, (size_t)cap * sizeof *memo);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memset(grown + memo_cap, 0, (size_t)(cap - memo_cap) * sizeof *memo);
        memo = grown;
        memo_cap = cap;
    }
    return next_id++;
}

static void give_id(Py_ssize_t id) {
    memo[id] = 0;
    if (n_free == free_cap) {
        Py_ssize_t cap = free_cap ? free_cap * 2 : 1024;
        Py_ssize_t *grown = PyMem_Realloc(free_ids, (size_t)cap * sizeof *free_ids);
        if (grown == NULL)
            return; /* the id is lost, nothing else */
        free_ids = grown;
        free_cap = cap;
    }
    free_ids[n_free++] = id;
}

static void op_clear(Op *op) {
    Py_CLEAR(op->a);
    Py_CLEAR(op->b);
}

static int segments_ok(PyObject *segments) {
    if (!PyTuple_Check(segments) || PyTuple_GET_SIZE(segments) < 1)
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(segments); i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(segments, i)))
            return 0;
    return 1;
}

/* Whether the one operand of a text op has the shape op_test reads: a str (PREFIX, SUFFIX, _IC), a tuple
   of str (NOT_PREFIX, NOT_SUFFIX), segments (WILDCARD), a tuple of segments (NOT_WILDCARD). */
static int operand_ok(int kind, PyObject *operand) {
    if (kind == OP_PREFIX || kind == OP_SUFFIX || kind == OP_PREFIX_IC || kind == OP_SUFFIX_IC)
        return PyUnicode_CheckExact(operand);
    if (kind == OP_WILDCARD)
        return segments_ok(operand);
    if (!PyTuple_Check(operand))
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operand); i++) {
        PyObject *item = PyTuple_GET_ITEM(operand, i);
        if (kind == OP_NOT_WILDCARD ? !segments_ok(item) : !PyUnicode_CheckExact(item))
            return 0;
    }
    return 1;
}

static int op_parse(Op *op, PyObject *spec) {
    /* spec: (kind, ...) as operators.Test.native builds it. */
    memset(op, 0, sizeof *op);
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1) {
        PyErr_SetString(PyExc_TypeError, "an op is a (kind, ...) tuple");
        return -1;
    }
    op->kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    Py_ssize_t n = PyTuple_GET_SIZE(spec);
    switch (op->kind) {
    case OP_NUMERIC:
        if (n != 5)
            break;
        op->low = PyFloat_AsDouble(PyTuple_GET_ITEM(spec, 1));
        op->low_open = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 2));
        op->high = PyFloat_AsDouble(PyTuple_GET_ITEM(spec, 3));
        op->high_open = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 4));
        return PyErr_Occurred() ? -1 : 0;
    case OP_EXISTS:
        if (n == 1)
            return 0;
        break;
    case OP_CIDR:
        if (n != 6)
            break;
        op->version = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
        op->first.hi = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(spec, 2));
        op->first.lo = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(spec, 3));
        op->last.hi = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(spec, 4));
        op->last.lo = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(spec, 5));
        return PyErr_Occurred() ? -1 : 0;
    case OP_IN_IC:
    case OP_NOT_IN_IC:
        if (n == 2 && PyAnySet_Check(PyTuple_GET_ITEM(spec, 1))) {
            op->a = Py_NewRef(PyTuple_GET_ITEM(spec, 1));
            return 0;
        }
        break;
    case OP_PREFIX_IC:
    case OP_SUFFIX_IC:
    case OP_PREFIX:
    case OP_SUFFIX:
    case OP_NOT_PREFIX:
    case OP_NOT_SUFFIX:
    case OP_WILDCARD:
    case OP_NOT_WILDCARD:
        if (n == 2 && operand_ok(op->kind, PyTuple_GET_ITEM(spec, 1))) {
            op->a = Py_NewRef(PyTuple_GET_ITEM(spec, 1));
            return 0;
        }
        break;
    case OP_IN:
    case OP_ANYTHING_BUT:
        if (n == 3 && PyAnySet_Check(PyTuple_GET_ITEM(spec, 1))) {
            PyObject *b = PyTuple_GET_ITEM(spec, 2);
            if (PyAnySet_Check(b)) {
                op->a = Py_NewRef(PyTuple_GET_ITEM(spec, 1));
                if (op->kind == OP_ANYTHING_BUT || PySet_GET_SIZE(b) > 0)
                    op->b = Py_NewRef(b);
                return 0;
            }
        }
        break;
    default:
        break;
    }
    PyErr_Format(PyExc_ValueError, "malformed op %R", spec);
    return -1;
}

static PyObject *Condition_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"field", "slot", "absent_ok", "ops", NULL};
    PyObject *field, *ops;
    Py_ssize_t slot;
    int absent_ok;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OnpO!", kwlist, &field, &slot, &absent_ok, &PyTuple_Type, &ops))
        return NULL;
    Condition *self = (Condition *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->id = take_id();
    if (self->id < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->field = Py_NewRef(field);
    self->slot = slot;
    self->absent_ok = absent_ok;
    Py_ssize_t n = PyTuple_GET_SIZE(ops);
    self->ops = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Op));
    if (self->ops == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (op_parse(&self->ops[i], PyTuple_GET_ITEM(ops, i)) < 0) {
            Py_DECREF(self);
            return NULL;
        }
        self->nops = i + 1;
    }
    return (PyObject *)self;
}

static void Condition_dealloc(Condition *self) {
    for (Py_ssize_t i = 0; i < self->nops; i++)
        op_clear(&self->ops[i]);
    PyMem_Free(self->ops);
    if (self->id >= 0)
        give_id(self->id);
    Py_XDECREF(self->field);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int accepts_value(Condition *self, PyObject *v) {
    for (Py_ssize_t i = 0; i < self->nops; i++) {
        int r = op_test(&self->ops[i], v);
        if (r != 0)
            return r;
    }
    return 0;
}

/* The condition's result on the values extracted for its slot: 1, 0 or -1. */
static int evaluate(Condition *self, PyObject *out) {
    if (self->slot < 0 || self->slot >= PyList_GET_SIZE(out)) {
        PyErr_SetString(PyExc_IndexError, "condition slot outside the extracted values");
        return -1;
    }
    PyObject *values = PyList_GET_ITEM(out, self->slot);
    if (values == Py_None)
        return self->absent_ok;
    if (!PyList_Check(values)) {
        PyErr_SetString(PyExc_TypeError, "extracted values must be lists");
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->nops; i++) {
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(values); j++) {
            int r = op_test(&self->ops[i], PyList_GET_ITEM(values, j));
            if (r != 0)
                return r;
        }
    }
    return 0;
}

static PyObject *Condition_accepts(Condition *self, PyObject *value) {
    int r = accepts_value(self, value);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyMethodDef Condition_methods[] = {
    {"accepts", (PyCFunction)Condition_accepts, METH_O, "Whether one event value satisfies one of its tests."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Condition_members[] = {
    {"field", T_OBJECT_EX, offsetof(Condition, field), READONLY, "the compiler's Field"},
    {"slot", T_PYSSIZET, offsetof(Condition, slot), 0, "where the extractor puts this path's values"},
    {"users", T_PYSSIZET, offsetof(Condition, users), 0, "how many rule branches use it"},
    {"absent_ok", T_BOOL, offsetof(Condition, absent_ok), READONLY, "exists: false"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ConditionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trailbridge.patterns._core.Condition",
    .tp_basicsize = sizeof(Condition),
    .tp_dealloc = (destructor)Condition_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Condition(field, slot, absent_ok, ops): one interned field condition.",
    .tp_methods = Condition_methods,
    .tp_members = Condition_members,
    .tp_new = Condition_new,
};

/* -- Group ---------------------------------------------------------------------------------- */

typedef struct {
    PyObject_VAR_HEAD    /* ob_size: how many checks */
    PyObject *anchor;     /* a Condition, or None */
    PyObject *conditions; /* tuple of Condition: the whole branch */
    PyObject *checks;     /* tuple of Condition: all but the anchor */
    PyObject *shared;     /* frozenset of paths two conditions share */
    PyObject *ids;        /* dict: rule id -> how many of its branches are here */
    Condition *check[1];  /* the checks again, inline (borrowed from the tuple), for matching */
} Group;

static PyObject *Group_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"conditions", "anchor", "checks", "shared", NULL};
    PyObject *conditions, *anchor, *checks, *shared;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OO!O!", kwlist, &PyTuple_Type, &conditions, &anchor,
                                     &PyTuple_Type, &checks, &PyFrozenSet_Type, &shared))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(checks); i++) {
        if (Py_TYPE(PyTuple_GET_ITEM(checks, i)) != &ConditionType) {
            PyErr_SetString(PyExc_TypeError, "checks must be Conditions");
            return NULL;
        }
    }
    Group *self = (Group *)type->tp_alloc(type, PyTuple_GET_SIZE(checks));
    if (self == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(checks); i++)
        self->check[i] = (Condition *)PyTuple_GET_ITEM(checks, i);
    self->ids = PyDict_New();
    if (self->ids == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->conditions = Py_NewRef(conditions);
    self->anchor = Py_NewRef(anchor);
    self->checks = Py_NewRef(checks);
    self->shared = Py_NewRef(shared);
    return (PyObject *)self;
}

static void Group_dealloc(Group *self) {
    Py_XDECREF(self->anchor);
    Py_XDECREF(self->conditions);
    Py_XDECREF(self->checks);
    Py_XDECREF(self->shared);
    Py_XDECREF(self->ids);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef Group_members[] = {
    {"anchor", T_OBJECT_EX, offsetof(Group, anchor), READONLY, NULL},
    {"conditions", T_OBJECT_EX, offsetof(Group, conditions), READONLY, NULL},
    {"checks", T_OBJECT_EX, offsetof(Group, checks), READONLY, NULL},
    {"shared", T_OBJECT_EX, offsetof(Group, shared), READONLY, NULL},
    {"ids", T_OBJECT_EX, offsetof(Group, ids), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject GroupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trailbridge.patterns._core.Group",
    .tp_basicsize = offsetof(Group, check),
    .tp_itemsize = sizeof(Condition *),
    .tp_dealloc = (destructor)Group_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Group(conditions, anchor, checks, shared): branches evaluated once per event.",
    .tp_members = Group_members,
    .tp_new = Group_new,
};

/* -- match ---------------------------------------------------------------------------------- */

typedef struct {
    PyObject **items; /* new references to bucket lists */
    Py_ssize_t len, cap;
    PyObject *inline_items[32];
} Buckets;

static int buckets_push(Buckets *b, PyObject *bucket) {
    if (!PyList_Check(bucket) || PyList_GET_SIZE(bucket) == 0)
        return 0;
    if (b->len == b->cap) {
        Py_ssize_t cap = b->cap * 2;
        PyObject **grown = PyMem_Malloc((size_t)cap * sizeof(PyObject *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(grown, b->items, (size_t)b->len * sizeof(PyObject *));
        if (b->items != b->inline_items)
            PyMem_Free(b->items);
        b->items = grown;
        b->cap = cap;
    }
    b->items[b->len++] = Py_NewRef(bucket);
    return 0;
}

static void buckets_free(Buckets *b) {
    for (Py_ssize_t i = 0; i < b->len; i++)
        Py_DECREF(b->items[i]);
    if (b->items != b->inline_items)
        PyMem_Free(b->items);
}

/* -- Trie: texts by code point, for prefix, suffix and substring anchors -------------------- */

/* matcher.py files a group under a text (a prefix, a suffix, a wildcard's literal segment) by
   putting its bucket at the node where that text ends. A value then reaches every text that starts
   it (mode PREFIX), ends it (SUFFIX: texts are stored and values read backwards) or lies anywhere in
   it (CONTAINS: a walk from each position), in steps of one code point: the work grows with the
   value, never with the number of texts. Edges live in one open-addressed table keyed by
   (node, code point). A node gives its bucket at most once per match call (`seen`). */

enum { TRIE_PREFIX, TRIE_SUFFIX, TRIE_CONTAINS };

typedef struct {
    PyObject *bucket; /* a list of Groups, or NULL */
    uint64_t seen;    /* the match epoch it last gave its bucket in */
    Py_ssize_t parent, kids;
    Py_UCS4 cp;
} TNode;

typedef struct {
    uint64_t key; /* (parent + 1) << 21 | code point; 0 when the slot is free */
    Py_ssize_t child;
} TEdge;

typedef struct {
    PyObject_HEAD
    int mode;
    TNode *node;
    Py_ssize_t nodes, node_cap, free_node; /* freed nodes are chained through `parent` */
    TEdge *edge;
    size_t edges, edge_cap; /* a power of two, at most half full */
} Trie;

static PyTypeObject TrieType;

static inline uint64_t edge_key(Py_ssize_t parent, Py_UCS4 cp) { return (uint64_t)(parent + 1) << 21 | cp; }
static inline size_t edge_home(const Trie *t, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (t->edge_cap - 1);
}

static Py_ssize_t trie_child(const Trie *t, Py_ssize_t parent, Py_UCS4 cp) {
    uint64_t key = edge_key(parent, cp);
    for (size_t i = edge_home(t, key);; i = (i + 1) & (t->edge_cap - 1)) {
        if (t->edge[i].key == key)
            return t->edge[i].child;
        if (t->edge[i].key == 0)
            return -1;
    }
}

static void edge_put(TEdge *table, size_t cap, uint64_t key, Py_ssize_t child) {
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
    while (table[i].key != 0)
        i = (i + 1) & (cap - 1);
    table[i].key = key;
    table[i].child = child;
}

static int edge_add(Trie *t, uint64_t key, Py_ssize_t child) {
    if (2 * (t->edges + 1) > t->edge_cap) {
        size_t cap = t->edge_cap * 2;
        TEdge *grown = PyMem_Calloc(cap, sizeof(TEdge));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < t->edge_cap; i++)
            if (t->edge[i].key != 0)
                edge_put(grown, cap, t->edge[i].key, t->edge[i].child);
        PyMem_Free(t->edge);
        t->edge = grown;
        t->edge_cap = cap;
    }
    edge_put(t->edge, t->edge_cap, key, child);
    t->edges++;
    return 0;
}

/* Linear probing's deletion: later entries of the run move back into the hole when their home
   allows it, so that lookups never need tombstones. */
static void edge_remove(Trie *t, uint64_t key) {
    size_t mask = t->edge_cap - 1, i = edge_home(t, key);
    while (t->edge[i].key != key)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->edge[j].key != 0; j = (j + 1) & mask) {
        size_t home = edge_home(t, t->edge[j].key);
        int stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->edge[i] = t->edge[j];
            i = j;
        }
    }
    t->edge[i].key = 0;
    t->edges--;
}

static Py_ssize_t node_add(Trie *t, Py_ssize_t parent, Py_UCS4 cp) {
    Py_ssize_t id = t->free_node;
    if (id >= 0) {
        t->free_node = t->node[id].parent;
    } else {
        if (t->nodes == t->node_cap) {
            Py_ssize_t cap = t->node_cap * 2;
            TNode *grown = PyMem_Realloc(t->node, (size_t)cap * sizeof(TNode));
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            t->node = grown;
            t->node_cap = cap;
        }
        id = t->nodes++;
    }
    if (edge_add(t, edge_key(parent, cp), id) < 0) {
        t->node[id].parent = t->free_node;
        t->free_node = id;
        return -1;
    }
    t->node[id] = (TNode){NULL, 0, parent, 0, cp};
    t->node[parent].kids++;
    return id;
}

static PyObject *Trie_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"mode", NULL};
    int mode;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "i", kwlist, &mode))
        return NULL;
    if (mode < TRIE_PREFIX || mode > TRIE_CONTAINS) {
        PyErr_SetString(PyExc_ValueError, "mode is TRIE_PREFIX, TRIE_SUFFIX or TRIE_CONTAINS");
        return NULL;
    }
    Trie *self = (Trie *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->mode = mode;
    self->node_cap = 16;
    self->edge_cap = 16;
    self->free_node = -1;
    self->node = PyMem_Malloc((size_t)self->node_cap * sizeof(TNode));
    self->edge = PyMem_Calloc(self->edge_cap, sizeof(TEdge));
    if (self->node == NULL || self->edge == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->node[0] = (TNode){NULL, 0, -1, 0, 0};
    self->nodes = 1;
    return (PyObject *)self;
}

static void Trie_dealloc(Trie *self) {
    for (Py_ssize_t i = 0; self->node != NULL && i < self->nodes; i++)
        Py_XDECREF(self->node[i].bucket); /* NULL in freed nodes */
    PyMem_Free(self->node);
    PyMem_Free(self->edge);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The node where `text` ends (made when `create`), or -1. */
static Py_ssize_t trie_find(Trie *t, PyObject *text, int create) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), node = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n && node >= 0; i++) {
        Py_UCS4 cp = PyUnicode_READ(kind, data, t->mode == TRIE_SUFFIX ? n - 1 - i : i);
        Py_ssize_t next = trie_child(t, node, cp);
        node = next >= 0 || !create ? next : node_add(t, node, cp);
    }
    return node;
}

static PyObject *Trie_set(Trie *self, PyObject *args) {
    PyObject *text, *bucket;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyList_Type, &bucket))
        return NULL;
    Py_ssize_t node = trie_find(self, text, 1);
    if (node < 0)
        return NULL;
    Py_XSETREF(self->node[node].bucket, Py_NewRef(bucket));
    Py_RETURN_NONE;
}

static PyObject *Trie_discard(Trie *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "discard() takes a str");
        return NULL;
    }
    Py_ssize_t node = trie_find(self, text, 0);
    if (node < 0)
        Py_RETURN_NONE;
    Py_CLEAR(self->node[node].bucket);
    while (node > 0 && self->node[node].bucket == NULL && self->node[node].kids == 0) {
        Py_ssize_t parent = self->node[node].parent;
        edge_remove(self, edge_key(parent, self->node[node].cp));
        self->node[parent].kids--;
        self->node[node].parent = self->free_node;
        self->free_node = node;
        node = parent;
    }
    Py_RETURN_NONE;
}

static PyObject *Trie_nodes(Trie *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromSsize_t(self->edges + 1);
}

static PyMethodDef Trie_methods[] = {
    {"set", (PyCFunction)Trie_set, METH_VARARGS, "set(text, bucket): the bucket of the groups filed under text."},
    {"discard", (PyCFunction)Trie_discard, METH_O, "discard(text): forget text's bucket (and nodes no text needs)."},
    {"nodes", (PyCFunction)Trie_nodes, METH_NOARGS, "How many nodes the live texts use."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TrieType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trailbridge.patterns._core.Trie",
    .tp_basicsize = sizeof(Trie),
    .tp_dealloc = (destructor)Trie_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Trie(mode): buckets by prefix, suffix or substring of a string value.",
    .tp_methods = Trie_methods,
    .tp_new = Trie_new,
};

static int trie_give(Trie *t, Py_ssize_t node, Buckets *found, uint64_t epoch) {
    TNode *n = &t->node[node];
    if (n->bucket == NULL || n->seen == epoch)
        return 0;
    n->seen = epoch;
    return buckets_push(found, n->bucket);
}

/* Buckets of the texts that the value holds from position i on (or, for suffixes, up to i). */
static int trie_walk(Trie *t, PyObject *v, Py_ssize_t i, Buckets *found, uint64_t epoch) {
    int kind = PyUnicode_KIND(v), backwards = t->mode == TRIE_SUFFIX;
    const void *data = PyUnicode_DATA(v);
    Py_ssize_t n = PyUnicode_GET_LENGTH(v), node = 0;
    for (;;) {
        if (trie_give(t, node, found, epoch) < 0)
            return -1;
        if (backwards ? i < 0 : i >= n)
            return 0;
        node = trie_child(t, node, PyUnicode_READ(kind, data, i));
        if (node < 0)
            return 0;
        i += backwards ? -1 : 1;
    }
}

static int trie_candidates(Trie *t, PyObject *v, Buckets *found, uint64_t epoch) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(v);
    if (t->mode != TRIE_CONTAINS)
        return trie_walk(t, v, t->mode == TRIE_SUFFIX ? n - 1 : 0, found, epoch);
    for (Py_ssize_t i = 0; i < n; i++)
        if (trie_walk(t, v, i, found, epoch) < 0)
            return -1;
    return 0;
}

/* -- Ranges: buckets by interval, for numeric and cidr anchors ------------------------------ */

/* Closed intervals of 128-bit keys (an address; a number's double_key in `hi`, an open bound being
   the next key in). Sorted by their low end, with a tree of the highest high end over each run of
   them, made again on the first lookup after a change: a lookup descends only into runs that reach
   the key, so it costs a logarithm per interval that holds the key, not a step per interval. */

typedef struct {
    U128 low, high;
    PyObject *bucket;
} Range;

typedef struct {
    PyObject_HEAD
    Range *range;
    Py_ssize_t n, cap;
    U128 *top;       /* 2 * leaves: the segment tree; NULL when stale */
    Py_ssize_t leaves; /* a power of two, at least n */
} Ranges;

static PyTypeObject RangesType;

static PyObject *Ranges_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist))
        return NULL;
    return type->tp_alloc(type, 0);
}

static void Ranges_dealloc(Ranges *self) {
    for (Py_ssize_t i = 0; i < self->n; i++)
        Py_DECREF(self->range[i].bucket);
    PyMem_Free(self->range);
    PyMem_Free(self->top);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Ranges_add(Ranges *self, PyObject *args) {
    Range r;
    if (!PyArg_ParseTuple(args, "KKKKO!", &r.low.hi, &r.low.lo, &r.high.hi, &r.high.lo, &PyList_Type, &r.bucket))
        return NULL;
    if (self->n == self->cap) {
        Py_ssize_t cap = self->cap ? self->cap * 2 : 8;
        Range *grown = PyMem_Realloc(self->range, (size_t)cap * sizeof(Range));
        if (grown == NULL)
            return PyErr_NoMemory();
        self->range = grown;
        self->cap = cap;
    }
    r.bucket = Py_NewRef(r.bucket);
    self->range[self->n++] = r;
    PyMem_Free(self->top);
    self->top = NULL;
    Py_RETURN_NONE;
}

static PyObject *Ranges_discard(Ranges *self, PyObject *bucket) {
    for (Py_ssize_t i = 0; i < self->n; i++) {
        if (self->range[i].bucket == bucket) {
            Py_DECREF(bucket);
            self->range[i] = self->range[--self->n];
            PyMem_Free(self->top);
            self->top = NULL;
            break;
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef Ranges_methods[] = {
    {"add", (PyCFunction)Ranges_add, METH_VARARGS,
     "add(low_hi, low_lo, high_hi, high_lo, bucket): the bucket of the groups filed under [low, high]."},
    {"discard", (PyCFunction)Ranges_discard, METH_O, "discard(bucket): forget the interval of that bucket."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RangesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trailbridge.patterns._core.Ranges",
    .tp_basicsize = sizeof(Ranges),
    .tp_dealloc = (destructor)Ranges_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Ranges(): buckets by closed interval of 128-bit keys.",
    .tp_methods = Ranges_methods,
    .tp_new = Ranges_new,
};

static int range_order(const void *a, const void *b) {
    U128 x = ((const Range *)a)->low, y = ((const Range *)b)->low;
    return u128_le(x, y) ? (u128_le(y, x) ? 0 : -1) : 1;
}

static int ranges_build(Ranges *r) {
    qsort(r->range, (size_t)r->n, sizeof(Range), range_order);
    r->leaves = 1;
    while (r->leaves < r->n)
        r->leaves <<= 1;
    r->top = PyMem_Calloc(2 * (size_t)r->leaves, sizeof(U128));
    if (r->top == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < r->n; i++)
        r->top[r->leaves + i] = r->range[i].high;
    for (Py_ssize_t i = r->leaves - 1; i > 0; i--)
        r->top[i] = u128_le(r->top[2 * i], r->top[2 * i + 1]) ? r->top[2 * i + 1] : r->top[2 * i];
    return 0;
}

/* Buckets of the intervals among the first `count` (those starting at or below key) under tree node
   `at`, which covers [first, first + width), that reach up to the key. */
static int ranges_descend(Ranges *r, Py_ssize_t at, Py_ssize_t first, Py_ssize_t width, Py_ssize_t count, U128 key,
                          Buckets *found) {
    if (first >= count || !u128_le(key, r->top[at]))
        return 0;
    if (width == 1)
        return buckets_push(found, r->range[first].bucket);
    width /= 2;
    if (ranges_descend(r, 2 * at, first, width, count, key, found) < 0)
        return -1;
    return ranges_descend(r, 2 * at + 1, first + width, width, count, key, found);
}

static int ranges_candidates(Ranges *r, U128 key, Buckets *found) {
    if (r->n == 0)
        return 0;
    if (r->top == NULL && ranges_build(r) < 0)
        return -1;
    Py_ssize_t lo = 0, hi = r->n; /* count of intervals whose low end is at most key */
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (u128_le(r->range[mid].low, key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return ranges_descend(r, 1, 0, r->leaves, lo, key, found);
}

/* -- candidates of one slot ------------------------------------------------------------------ */

/* An index item, as matcher._SlotIndex.item builds it. */
enum {
    I_SLOT,
    I_EXACT,     /* dict: key -> bucket */
    I_EXACT_IC,  /* dict: folded text -> bucket */
    I_PREFIX,    /* Trie or None; the same for the five below */
    I_SUFFIX,
    I_PREFIX_IC, /* over folded values */
    I_SUFFIX_IC,
    I_CONTAINS,
    I_NUMBERS, /* Ranges or None, by double_key */
    I_IP4,     /* Ranges or None, by address */
    I_IP6,
    I_PRESENT, /* list: groups of every event with a value here */
    I_ABSENT,  /* list: groups of every event without one */
    I_SIZE,
};

static int item_ok(PyObject *item) {
    for (int i = I_EXACT; i < I_SIZE; i++) {
        PyObject *part = PyTuple_GET_ITEM(item, i);
        int ok = i <= I_EXACT_IC   ? PyDict_Check(part)
                 : i <= I_CONTAINS ? part == Py_None || Py_TYPE(part) == &TrieType
                 : i <= I_IP6      ? part == Py_None || Py_TYPE(part) == &RangesType
                                   : PyList_Check(part);
        if (!ok)
            return 0;
    }
    return 1;
}

static int dict_candidates(PyObject *table, PyObject *key, Buckets *found) {
    PyObject *bucket = PyDict_GetItemWithError(table, key);
    if (bucket == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return buckets_push(found, bucket);
}

static int tries_candidates(PyObject *item, int first, int last, PyObject *v, Buckets *found, uint64_t epoch) {
    for (int i = first; i <= last; i++) {
        PyObject *trie = PyTuple_GET_ITEM(item, i);
        if (trie != Py_None && trie_candidates((Trie *)trie, v, found, epoch) < 0)
            return -1;
    }
    return 0;
}

static int string_candidates(PyObject *item, PyObject *v, Buckets *found, uint64_t epoch) {
    if (tries_candidates(item, I_PREFIX, I_SUFFIX, v, found, epoch) < 0 ||
        tries_candidates(item, I_CONTAINS, I_CONTAINS, v, found, epoch) < 0)
        return -1;
    PyObject *exact_ic = PyTuple_GET_ITEM(item, I_EXACT_IC);
    if (PyDict_GET_SIZE(exact_ic) || PyTuple_GET_ITEM(item, I_PREFIX_IC) != Py_None ||
        PyTuple_GET_ITEM(item, I_SUFFIX_IC) != Py_None) {
        PyObject *folded = fold(v);
        if (folded == NULL)
            return -1;
        int r = PyDict_GET_SIZE(exact_ic) ? dict_candidates(exact_ic, folded, found) : 0;
        if (r == 0)
            r = tries_candidates(item, I_PREFIX_IC, I_SUFFIX_IC, folded, found, epoch);
        Py_DECREF(folded);
        if (r < 0)
            return -1;
    }
    PyObject *ip4 = PyTuple_GET_ITEM(item, I_IP4), *ip6 = PyTuple_GET_ITEM(item, I_IP6);
    if (ip4 == Py_None && ip6 == Py_None)
        return 0;
    U128 address;
    PyObject *ranges = NULL;
    switch (ip_of(v, &address)) {
    case 4: ranges = ip4; break;
    case 6: ranges = ip6; break;
    default: return 0;
    }
    return ranges == Py_None ? 0 : ranges_candidates((Ranges *)ranges, address, found);
}

static int slot_candidates(PyObject *item, PyObject *values, Buckets *found, uint64_t epoch) {
    if (values == Py_None)
        return buckets_push(found, PyTuple_GET_ITEM(item, I_ABSENT));
    if (buckets_push(found, PyTuple_GET_ITEM(item, I_PRESENT)) < 0)
        return -1;
    PyObject *exact = PyTuple_GET_ITEM(item, I_EXACT), *numbers = PyTuple_GET_ITEM(item, I_NUMBERS);
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(values); j++) {
        PyObject *v = PyList_GET_ITEM(values, j);
        if (PyDict_GET_SIZE(exact)) {
            PyObject *key = key_of(v);
            if (key == NULL)
                return -1;
            int r = dict_candidates(exact, key, found);
            Py_DECREF(key);
            if (r < 0)
                return -1;
        }
        if (PyUnicode_CheckExact(v)) {
            if (string_candidates(item, v, found, epoch) < 0)
                return -1;
            continue;
        }
        double d;
        int r = numbers == Py_None ? 0 : number_of(v, &d);
        if (r < 0)
            return -1;
        if (r && ranges_candidates((Ranges *)numbers, (U128){double_key(d), 0}, found) < 0)
            return -1;
    }
    return 0;
}

/* 1 when some path of the group is a path where the event has an array. */
static int crosses_array(Group *group, PyObject *arrays) {
    if (arrays == Py_None || PySet_GET_SIZE(group->shared) == 0)
        return 0;
    Py_ssize_t pos = 0;
    PyObject *path;
    Py_hash_t hash;
    while (_PySet_NextEntry(group->shared, &pos, &path, &hash)) {
        int r = PySet_Contains(arrays, path);
        if (r != 0)
            return r;
    }
    return 0;
}

/* What a group whose fields an event array binds together needs: consistency.py's check of array
   consistency, over the event's values arranged by its arrays (made on first need), and the answers
   given so far. A group is a candidate once per value that reaches its bucket (11,200 times for an
   event with as many equal values in nested arrays), so each answer is kept for the rest of the call:
   the check runs at most once per group and event. */
typedef struct {
    PyObject *arrays, *event, *places_of, *consistent;
    PyObject *places;  /* NULL until needed */
    PyObject *decided; /* dict: group -> True/False, NULL until needed */
} Arrays;

static int consistent_group(Group *group, Arrays *ctx) {
    if (ctx->decided == NULL && (ctx->decided = PyDict_New()) == NULL)
        return -1;
    PyObject *answer = PyDict_GetItemWithError(ctx->decided, (PyObject *)group);
    if (answer != NULL)
        return answer == Py_True;
    if (PyErr_Occurred())
        return -1;
    if (ctx->places == NULL && (ctx->places = PyObject_CallOneArg(ctx->places_of, ctx->event)) == NULL)
        return -1;
    answer = PyObject_CallFunctionObjArgs(ctx->consistent, group->conditions, ctx->places, NULL);
    if (answer == NULL)
        return -1;
    int r = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    if (r >= 0 && PyDict_SetItem(ctx->decided, (PyObject *)group, r ? Py_True : Py_False) < 0)
        return -1;
    return r;
}

static int group_matches(Group *group, PyObject *out, Arrays *ctx, uint64_t epoch) {
    int r = crosses_array(group, ctx->arrays);
    if (r < 0)
        return -1;
    if (r)
        return consistent_group(group, ctx);
    for (Py_ssize_t i = 0; i < Py_SIZE(group); i++) {
        Condition *c = group->check[i];
        uint64_t known = memo[c->id];
        if (known >> 1 == epoch) {
            r = (int)(known & 1);
        } else {
            r = evaluate(c, out);
            if (r < 0)
                return -1;
            memo[c->id] = epoch << 1 | (uint64_t)r; /* `memo` may have moved during a Python test */
        }
        if (!r)
            return 0;
    }
    return 1;
}

static PyObject *match(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 6 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !(args[2] == Py_None || PyAnySet_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError, "match(index_items, out, arrays, event, places_of, consistent)");
        return NULL;
    }
    PyObject *items = args[0], *out = args[1];
    Arrays ctx = {args[2], args[3], args[4], args[5], NULL, NULL};
    Buckets found = {NULL, 0, 32, {0}};
    found.items = found.inline_items;
    PyObject *matched = NULL;
    uint64_t epoch = ++match_epoch; /* unique per call, so a nested call cannot mix memos */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != I_SIZE) {
            PyErr_SetString(PyExc_TypeError, "index items are tuples as matcher._SlotIndex.item makes them");
            goto done;
        }
        Py_ssize_t slot = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, I_SLOT));
        if (slot < 0 || slot >= PyList_GET_SIZE(out)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "index slot outside the extracted values");
            goto done;
        }
        PyObject *values = PyList_GET_ITEM(out, slot), *absent = PyTuple_GET_ITEM(item, I_ABSENT);
        if (values == Py_None && PyList_Check(absent) && PyList_GET_SIZE(absent) == 0)
            continue; /* most paths of most events: nothing to look up, nothing to check */
        if (!item_ok(item)) {
            PyErr_SetString(PyExc_TypeError, "index items are tuples as matcher._SlotIndex.item makes them");
            goto done;
        }
        if (slot_candidates(item, values, &found, epoch) < 0)
            goto done;
    }
    matched = PySet_New(NULL);
    if (matched == NULL)
        goto done;
    for (Py_ssize_t b = 0; b < found.len; b++) {
        PyObject *bucket = found.items[b];
        for (Py_ssize_t g = 0; g < PyList_GET_SIZE(bucket); g++) {
            PyObject *group = PyList_GET_ITEM(bucket, g);
            if (Py_TYPE(group) != &GroupType) {
                PyErr_SetString(PyExc_TypeError, "buckets hold Groups");
                Py_CLEAR(matched);
                goto done;
            }
            Py_INCREF(group);
            int r = group_matches((Group *)group, out, &ctx, epoch);
            if (r > 0) {
                Py_ssize_t pos = 0;
                PyObject *id, *count;
                while (r > 0 && PyDict_Next(((Group *)group)->ids, &pos, &id, &count))
                    r = PySet_Add(matched, id) < 0 ? -1 : 1;
            }
            Py_DECREF(group);
            if (r < 0) {
                Py_CLEAR(matched);
                goto done;
            }
        }
    }
done:
    buckets_free(&found);
    Py_XDECREF(ctx.places);
    Py_XDECREF(ctx.decided);
    return matched;
}

/* -- Scanner -------------------------------------------------------------------------------- */

typedef struct Node Node;
typedef struct {
    char *key; /* UTF-8, for JSON text */
    Py_ssize_t len;
    PyObject *pykey; /* the str, for dicts */
    Node *node;
} Child;
struct Node {
    Py_ssize_t slot;
    int deep;
    int cut; /* below MAX_DEPTH: a value here makes the scan fall back */
    PyObject *name; /* the dotted path, for the set of array paths */
    Py_ssize_t nchildren;
    Child *children;
};

typedef struct {
    PyObject_HEAD
    Node *root;
    Py_ssize_t nslots;
} Scanner;

static void node_free(Node *node) {
    if (node == NULL)
        return;
    for (Py_ssize_t i = 0; i < node->nchildren; i++) {
        PyMem_Free(node->children[i].key);
        Py_XDECREF(node->children[i].pykey);
        node_free(node->children[i].node);
    }
    PyMem_Free(node->children);
    Py_XDECREF(node->name);
    PyMem_Free(node);
}

/* A C copy of an event.PathTrie Step and everything below it. */
static Node *node_build(PyObject *step, int depth) {
    Node *node = PyMem_Calloc(1, sizeof(Node));
    if (node == NULL)
        return (Node *)PyErr_NoMemory();
    if (depth > MAX_DEPTH) { /* events that reach this deep are left to orjson */
        node->cut = 1;
        return node;
    }
    PyObject *slot = PyObject_GetAttrString(step, "slot"), *deep = PyObject_GetAttrString(step, "deep");
    PyObject *children = PyObject_GetAttrString(step, "children");
    node->name = PyObject_GetAttrString(step, "name");
    if (slot == NULL || deep == NULL || children == NULL || node->name == NULL || !PyDict_Check(children))
        goto fail;
    node->slot = PyLong_AsSsize_t(slot);
    node->deep = PyObject_IsTrue(deep);
    if (PyErr_Occurred())
        goto fail;
    node->children = PyMem_Calloc(PyDict_GET_SIZE(children) + 1, sizeof(Child));
    if (node->children == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *child;
    while (PyDict_Next(children, &pos, &key, &child)) {
        Py_ssize_t len;
        const char *text = PyUnicode_AsUTF8AndSize(key, &len);
        if (text == NULL)
            goto fail;
        Child *c = &node->children[node->nchildren++];
        c->key = PyMem_Malloc((size_t)len + 1);
        if (c->key == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(c->key, text, (size_t)len + 1);
        c->len = len;
        c->pykey = Py_NewRef(key);
        c->node = node_build(child, depth + 1);
        if (c->node == NULL)
            goto fail;
    }
    Py_DECREF(slot);
    Py_DECREF(deep);
    Py_DECREF(children);
    return node;
fail:
    Py_XDECREF(slot);
    Py_XDECREF(deep);
    Py_XDECREF(children);
    node_free(node);
    return NULL;
}

static PyObject *Scanner_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"root", "slots", NULL};
    PyObject *root;
    Py_ssize_t nslots;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "On", kwlist, &root, &nslots))
        return NULL;
    Scanner *self = (Scanner *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->nslots = nslots;
    self->root = node_build(root, 0);
    if (self->root == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void Scanner_dealloc(Scanner *self) {
    node_free(self->root);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Parser state. Functions return OK, FALLBACK (let orjson decide: bad or unusual JSON), or ERROR
   (a Python exception is set). */
enum { OK = 0, FALLBACK = 1, ERROR = -1 };

typedef struct {
    const unsigned char *s, *end;
    PyObject *out;    /* list of slot lists (or None) */
    PyObject *arrays; /* set of array paths, created when first needed */
    char *buf;        /* scratch space for decoded strings */
    Py_ssize_t bufcap;
} P;

static inline void skip_ws(P *p) {
    while (p->s < p->end && *p->s <= ' ' && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t'))
        p->s++;
}

/* Length of the UTF-8 sequence at s (valid, shortest form, no surrogates), or 0. */
static int utf8_len(const unsigned char *s, const unsigned char *end) {
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF)
        return end - s >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - s < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - s < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static unsigned hex4(const unsigned char *s) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Scans a string whose opening quote is at p->s. Sets start and len to its raw body, and escaped
   when it has backslash escapes. */
static int scan_string(P *p, const unsigned char **start, Py_ssize_t *len, int *escaped) {
    const unsigned char *s = p->s + 1, *end = p->end;
    *escaped = 0;
    *start = s;
    while (s < end) {
        /* eight plain bytes at a time: none a quote, backslash, control character or non-ASCII */
        while (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            uint64_t quote = w ^ (ONES * '"'), slash = w ^ (ONES * '\\');
            uint64_t special = ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) | (w - ONES * 0x20) | w;
            if (special & (ONES * 0x80))
                break;
            s += 8;
        }
        if (s >= end)
            break;
        unsigned char c = *s;
        if (c == '"') {
            *len = s - *start;
            p->s = s + 1;
            return OK;
        }
        if (c == '\\') {
            *escaped = 1;
            if (s + 1 >= end)
                return FALLBACK;
            unsigned char e = s[1];
            if (e == 'u') {
                if (end - s < 6)
                    return FALLBACK;
                for (int i = 2; i < 6; i++)
                    if (!is_hex(s[i]))
                        return FALLBACK;
                unsigned cp = hex4(s + 2);
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return FALLBACK; /* a low surrogate with no high one before it */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - s < 12 || s[6] != '\\' || s[7] != 'u')
                        return FALLBACK;
                    for (int i = 8; i < 12; i++)
                        if (!is_hex(s[i]))
                            return FALLBACK;
                    unsigned low = hex4(s + 8);
                    if (low < 0xDC00 || low > 0xDFFF)
                        return FALLBACK;
                    s += 6;
                }
                s += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != 0) {
                s += 2;
            } else {
                return FALLBACK;
            }
        } else if (c < 0x20) {
            return FALLBACK;
        } else if (c < 0x80) {
            s++;
        } else {
            int n = utf8_len(s, end);
            if (n == 0)
                return FALLBACK;
            s += n;
        }
    }
    return FALLBACK;
}

/* The Python str of a string body with escapes that scan_string has checked. */
static int decode_escaped(P *p, const unsigned char *s, Py_ssize_t len, PyObject **result) {
    if (p->bufcap < len) {
        char *grown = PyMem_Realloc(p->buf, (size_t)len);
        if (grown == NULL) {
            PyErr_NoMemory();
            return ERROR;
        }
        p->buf = grown;
        p->bufcap = len;
    }
    char *o = p->buf;
    const unsigned char *end = s + len;
    while (s < end) {
        if (*s != '\\') {
            *o++ = (char)*s++;
            continue;
        }
        unsigned char e = s[1];
        s += 2;
        switch (e) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = hex4(s);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* scan_string checked the low surrogate after it */
                unsigned low = hex4(s + 2);
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            /* every escape is 6 or 12 bytes of input and at most 4 bytes of UTF-8 */
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | cp >> 12);
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | cp >> 18);
                *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: *o++ = (char)e; break; /* " \ / */
        }
    }
    *result = PyUnicode_DecodeUTF8(p->buf, o - p->buf, "strict");
    return *result == NULL ? ERROR : OK;
}

/* Scans a number at p->s. With `value`, also builds it as orjson does: an int when it has no
   fraction or exponent, else a float. FALLBACK where orjson's reading is not one C reproduces
   exactly (exponents, integers beyond 18 digits). */
static int scan_number(P *p, PyObject **value) {
    const unsigned char *s = p->s, *end = p->end, *start = s;
    int integer = 1;
    if (s < end && *s == '-')
        s++;
    if (s >= end || !is_digit(*s))
        return FALLBACK;
    if (*s == '0') {
        s++;
    } else {
        while (s < end && is_digit(*s))
            s++;
    }
    if (s < end && *s == '.') {
        integer = 0;
        s++;
        if (s >= end || !is_digit(*s))
            return FALLBACK;
        while (s < end && is_digit(*s))
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E'))
        return FALLBACK;
    Py_ssize_t len = s - start;
    p->s = s;
    if (integer && len - (*start == '-') > 18)
        return FALLBACK;
    if (value == NULL)
        return OK;
    char text[64];
    if (len >= (Py_ssize_t)sizeof text)
        return FALLBACK;
    memcpy(text, start, (size_t)len);
    text[len] = 0;
    if (integer) {
        *value = PyLong_FromLongLong(strtoll(text, NULL, 10));
    } else {
        double d = PyOS_string_to_double(text, NULL, NULL);
        if (d == -1.0 && PyErr_Occurred())
            return ERROR;
        *value = PyFloat_FromDouble(d);
    }
    return *value == NULL ? ERROR : OK;
}

static int skip_value(P *p, int depth);

static int skip_container(P *p, int depth) {
    unsigned char close = *p->s == '{' ? '}' : ']';
    int object = close == '}';
    if (depth > MAX_DEPTH)
        return FALLBACK;
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return OK;
    }
    for (;;) {
        int r;
        if (object) {
            const unsigned char *k;
            Py_ssize_t klen;
            int escaped;
            if (p->s >= p->end || *p->s != '"')
                return FALLBACK;
            if ((r = scan_string(p, &k, &klen, &escaped)) != OK)
                return r;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':')
                return FALLBACK;
            p->s++;
            skip_ws(p);
        }
        if ((r = skip_value(p, depth + 1)) != OK)
            return r;
        skip_ws(p);
        if (p->s >= p->end)
            return FALLBACK;
        if (*p->s == close) {
            p->s++;
            return OK;
        }
        if (*p->s != ',')
            return FALLBACK;
        p->s++;
        skip_ws(p);
    }
}

static int literal(P *p, const char *word, Py_ssize_t n) {
    if (p->end - p->s < n || memcmp(p->s, word, (size_t)n) != 0)
        return FALLBACK;
    p->s += n;
    return OK;
}

static int skip_value(P *p, int depth) {
    if (p->s >= p->end)
        return FALLBACK;
    switch (*p->s) {
    case '{':
    case '[':
        return skip_container(p, depth);
    case '"': {
        const unsigned char *start;
        Py_ssize_t len;
        int escaped;
        return scan_string(p, &start, &len, &escaped);
    }
    case 't': return literal(p, "true", 4);
    case 'f': return literal(p, "false", 5);
    case 'n': return literal(p, "null", 4);
    default: return scan_number(p, NULL);
    }
}

static int append_leaf(P *p, Node *node, PyObject *value) {
    PyObject *values = PyList_GET_ITEM(p->out, node->slot);
    int r;
    if (values == Py_None) {
        values = PyList_New(1);
        if (values == NULL) {
            Py_DECREF(value);
            return ERROR;
        }
        PyList_SET_ITEM(values, 0, value);
        PyList_SetItem(p->out, node->slot, values); /* steals; drops the None */
        return OK;
    }
    r = PyList_Append(values, value);
    Py_DECREF(value);
    return r < 0 ? ERROR : OK;
}

static int scan_value(P *p, Node *node, int depth);

static int scan_object(P *p, Node *node, int depth) {
    unsigned char seen_inline[64];
    unsigned char *seen = seen_inline;
    int r = FALLBACK;
    if (depth > MAX_DEPTH)
        return FALLBACK;
    if (node->nchildren > (Py_ssize_t)sizeof seen_inline) {
        seen = PyMem_Calloc((size_t)node->nchildren, 1);
        if (seen == NULL) {
            PyErr_NoMemory();
            return ERROR;
        }
    } else {
        memset(seen, 0, (size_t)node->nchildren);
    }
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == '}') {
        p->s++;
        r = OK;
        goto done;
    }
    for (;;) {
        const unsigned char *k;
        Py_ssize_t klen;
        int escaped;
        if (p->s >= p->end || *p->s != '"') {
            r = FALLBACK;
            goto done;
        }
        if ((r = scan_string(p, &k, &klen, &escaped)) != OK)
            goto done;
        /* escaped keys are compared by orjson after decoding; dotted keys flatten into paths */
        if (escaped || (node->deep && memchr(k, '.', (size_t)klen) != NULL)) {
            r = FALLBACK;
            goto done;
        }
        Node *child = NULL;
        for (Py_ssize_t i = 0; i < node->nchildren; i++) {
            Child *c = &node->children[i];
            if (c->len == klen && (klen == 0 || (c->key[0] == (char)k[0] && memcmp(c->key, k, (size_t)klen) == 0))) {
                if (seen[i]) { /* a duplicated key: orjson keeps the last value */
                    r = FALLBACK;
                    goto done;
                }
                seen[i] = 1;
                child = c->node;
                break;
            }
        }
        skip_ws(p);
        if (p->s >= p->end || *p->s != ':') {
            r = FALLBACK;
            goto done;
        }
        p->s++;
        skip_ws(p);
        r = child != NULL ? scan_value(p, child, depth + 1) : skip_value(p, depth + 1);
        if (r != OK)
            goto done;
        skip_ws(p);
        if (p->s >= p->end) {
            r = FALLBACK;
            goto done;
        }
        if (*p->s == '}') {
            p->s++;
            r = OK;
            goto done;
        }
        if (*p->s != ',') {
            r = FALLBACK;
            goto done;
        }
        p->s++;
        skip_ws(p);
    }
done:
    if (seen != seen_inline)
        PyMem_Free(seen);
    return r;
}

static int scan_array(P *p, Node *node, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == ']') {
        p->s++;
        return OK;
    }
    if (p->arrays == NULL && (p->arrays = PySet_New(NULL)) == NULL)
        return ERROR;
    if (PySet_Add(p->arrays, node->name) < 0)
        return ERROR;
    for (;;) {
        int r = scan_value(p, node, depth + 1);
        if (r != OK)
            return r;
        skip_ws(p);
        if (p->s >= p->end)
            return FALLBACK;
        if (*p->s == ']') {
            p->s++;
            return OK;
        }
        if (*p->s != ',')
            return FALLBACK;
        p->s++;
        skip_ws(p);
    }
}

static int scan_value(P *p, Node *node, int depth) {
    if (p->s >= p->end || node->cut)
        return FALLBACK;
    unsigned char c = *p->s;
    if (c == '{')
        return node->nchildren ? scan_object(p, node, depth) : skip_container(p, depth);
    if (c == '[')
        return scan_array(p, node, depth);
    if (node->slot < 0)
        return skip_value(p, depth);
    PyObject *value = NULL;
    int r;
    if (c == '"') {
        const unsigned char *start;
        Py_ssize_t len;
        int escaped;
        if ((r = scan_string(p, &start, &len, &escaped)) != OK)
            return r;
        if (escaped) {
            if ((r = decode_escaped(p, start, len, &value)) != OK)
                return r;
        } else if ((value = PyUnicode_DecodeUTF8((const char *)start, len, "strict")) == NULL) {
            return ERROR;
        }
    } else if (c == 't' || c == 'f' || c == 'n') {
        if ((r = skip_value(p, depth)) != OK)
            return r;
        value = Py_NewRef(c == 't' ? Py_True : c == 'f' ? Py_False : Py_None);
    } else if ((r = scan_number(p, &value)) != OK) {
        return r;
    }
    return append_leaf(p, node, value);
}

static PyObject *Scanner_scan(Scanner *self, PyObject *data) {
    const char *text;
    Py_ssize_t len;
    if (PyBytes_Check(data)) {
        text = PyBytes_AS_STRING(data);
        len = PyBytes_GET_SIZE(data);
    } else if (PyUnicode_Check(data)) {
        text = PyUnicode_AsUTF8AndSize(data, &len);
        if (text == NULL) { /* lone surrogates: orjson reports them */
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    } else {
        PyErr_SetString(PyExc_TypeError, "scan() takes bytes or str");
        return NULL;
    }
    P p = {(const unsigned char *)text, (const unsigned char *)text + len, NULL, NULL, NULL, 0};
    p.out = PyList_New(self->nslots);
    if (p.out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < self->nslots; i++)
        PyList_SET_ITEM(p.out, i, Py_NewRef(Py_None));
    skip_ws(&p);
    int r = p.s < p.end && *p.s == '{' ? scan_object(&p, self->root, 1) : FALLBACK;
    if (r == OK) {
        skip_ws(&p);
        if (p.s != p.end)
            r = FALLBACK;
    }
    PyMem_Free(p.buf);
    PyObject *result = NULL;
    if (r == OK)
        result = PyTuple_Pack(2, p.out, p.arrays != NULL ? p.arrays : Py_None);
    else if (r == FALLBACK)
        result = Py_NewRef(Py_None);
    Py_DECREF(p.out);
    Py_XDECREF(p.arrays);
    return result;
}

/* The same walk over a parsed event: dicts and lists by exact type, as event.extract does. */
typedef struct {
    PyObject *out, *arrays;
} W;

static int has_dotted_key(PyObject *dict) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (!PyUnicode_Check(key))
            return 0; /* as event._has_dotted_key: keys that are not all strings join to nothing */
        if (PyUnicode_FindChar(key, '.', 0, PyUnicode_GET_LENGTH(key), 1) >= 0)
            return 1;
    }
    return 0;
}

static int walk_value(W *w, PyObject *v, Node *node, int depth) {
    if (depth > MAX_DEPTH || node->cut)
        return FALLBACK;
    if (PyDict_CheckExact(v)) {
        if (node->nchildren == 0)
            return OK;
        if (node->deep && has_dotted_key(v))
            return FALLBACK;
        for (Py_ssize_t i = 0; i < node->nchildren; i++) {
            PyObject *inner = PyDict_GetItemWithError(v, node->children[i].pykey);
            if (inner == NULL) {
                if (PyErr_Occurred())
                    return ERROR;
                continue;
            }
            Py_INCREF(inner); /* the walk may run Python code (a key's __eq__) that drops it */
            int r = walk_value(w, inner, node->children[i].node, depth + 1);
            Py_DECREF(inner);
            if (r != OK)
                return r;
        }
        return OK;
    }
    if (PyList_CheckExact(v)) {
        if (PyList_GET_SIZE(v) == 0)
            return OK;
        if (w->arrays == NULL && (w->arrays = PySet_New(NULL)) == NULL)
            return ERROR;
        if (PySet_Add(w->arrays, node->name) < 0)
            return ERROR;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            PyObject *element = Py_NewRef(PyList_GET_ITEM(v, i));
            int r = walk_value(w, element, node, depth + 1);
            Py_DECREF(element);
            if (r != OK)
                return r;
        }
        return OK;
    }
    if (node->slot < 0)
        return OK;
    P p = {NULL, NULL, w->out, NULL, NULL, 0};
    return append_leaf(&p, node, Py_NewRef(v));
}

static PyObject *Scanner_extract(Scanner *self, PyObject *event) {
    if (!PyDict_CheckExact(event)) {
        PyErr_SetString(PyExc_TypeError, "extract() takes a dict");
        return NULL;
    }
    W w = {PyList_New(self->nslots), NULL};
    if (w.out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < self->nslots; i++)
        PyList_SET_ITEM(w.out, i, Py_NewRef(Py_None));
    int r = walk_value(&w, event, self->root, 1);
    PyObject *result = NULL;
    if (r == OK)
        result = PyTuple_Pack(2, w.out, w.arrays != NULL ? w.arrays : Py_None);
    else if (r == FALLBACK)
        result = Py_NewRef(Py_None);
    Py_DECREF(w.out);
    Py_XDECREF(w.arrays);
    return result;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_O,
     "(out, arrays) for JSON text, as event.extract gives for the parsed event; None to parse instead."},
    {"extract", (PyCFunction)Scanner_extract, METH_O,
     "(out, arrays) for a parsed event, as event.extract gives; None where event.extract must (dotted keys)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trailbridge.patterns._core.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(root, slots): extracts the values of a PathTrie's paths from JSON text.",
    .tp_methods = Scanner_methods,
    .tp_new = Scanner_new,
};

/* -- module --------------------------------------------------------------------------------- */

static PyObject *configure(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *k, *n, *t, *f, *z;
    if (!PyArg_ParseTuple(args, "OOOOO", &k, &n, &t, &f, &z))
        return NULL;
    Py_XSETREF(py_key_of, Py_NewRef(k));
    Py_XSETREF(py_numeric, Py_NewRef(n));
    Py_XSETREF(key_true, Py_NewRef(t));
    Py_XSETREF(key_false, Py_NewRef(f));
    Py_XSETREF(key_null, Py_NewRef(z));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(key_of, numeric, TRUE, FALSE, NULL): values.py's functions for rare values, and its literal keys."},
    {"match", (PyCFunction)(void (*)(void))match, METH_FASTCALL,
     "match(index_items, out, arrays, event, places_of, consistent) -> set of matching rule ids."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "trailbridge.patterns._core", "The matcher's hot path in C.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&ConditionType) < 0 || PyType_Ready(&GroupType) < 0 || PyType_Ready(&ScannerType) < 0 ||
        PyType_Ready(&TrieType) < 0 || PyType_Ready(&RangesType) < 0)
        return NULL;
    if (str_lower == NULL && (str_lower = PyUnicode_InternFromString("lower")) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    static const struct {
        const char *name;
        int value;
    } constants[] = {
        {"OP_IN", OP_IN},
        {"OP_PREFIX", OP_PREFIX},
        {"OP_SUFFIX", OP_SUFFIX},
        {"OP_EXISTS", OP_EXISTS},
        {"OP_ANYTHING_BUT", OP_ANYTHING_BUT},
        {"OP_NOT_PREFIX", OP_NOT_PREFIX},
        {"OP_NOT_SUFFIX", OP_NOT_SUFFIX},
        {"OP_NUMERIC", OP_NUMERIC},
        {"OP_WILDCARD", OP_WILDCARD},
        {"OP_NOT_WILDCARD", OP_NOT_WILDCARD},
        {"OP_CIDR", OP_CIDR},
        {"OP_IN_IC", OP_IN_IC},
        {"OP_PREFIX_IC", OP_PREFIX_IC},
        {"OP_SUFFIX_IC", OP_SUFFIX_IC},
        {"OP_NOT_IN_IC", OP_NOT_IN_IC},
        {"TRIE_PREFIX", TRIE_PREFIX},
        {"TRIE_SUFFIX", TRIE_SUFFIX},
        {"TRIE_CONTAINS", TRIE_CONTAINS},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0)
            goto fail;
    if (PyModule_AddObjectRef(m, "Condition", (PyObject *)&ConditionType) < 0 ||
        PyModule_AddObjectRef(m, "Group", (PyObject *)&GroupType) < 0 ||
        PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddObjectRef(m, "Trie", (PyObject *)&TrieType) < 0 ||
        PyModule_AddObjectRef(m, "Ranges", (PyObject *)&RangesType) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
