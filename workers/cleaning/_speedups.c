/* Native helpers for the plain-text cleaning path (see _speedups.pyi for the Python signatures).
 *
 * Each function does in one pass over a string (or a byte sample) what the numpy code next to its
 * caller does with a few dozen whole-array operations; the Python callers keep that numpy code as
 * the fallback and the unit tests pin the two to each other. Nothing here allocates Python objects
 * per character: the results are bytearrays (read by numpy with np.frombuffer) or lists of str.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Character class bits (pagetext.WORD_CHAR, DIGIT_CHAR, UPPER_CHAR; checked there at import). */
#define WORD_CHAR 1
#define DIGIT_CHAR 2
#define UPPER_CHAR 4
#define LOWER_OR_TITLE_CHAR 64
#define SHAPE_TRIGGER_CHAR 128

#define KEY_CHARS 6
#define LENGTH_SHIFT 48
#define MAX_KEY_LENGTH 65535

/* Functions kept out of their callers: a hot loop on its own gets the registers to itself (inlined into a
   large caller, its values are spilled to the stack), and a rare path stays out of the way. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#define COLD __attribute__((noinline, cold))
#else
#define NOINLINE
#define COLD
#endif

/* ------------------------------------------------------------------------------------------------ */
/* split_lines                                                                                       */

/* The scans that only test or count characters go through the text in blocks of SCAN_BLOCK characters,
   testing every character of a block without a branch, in the text's own character width, and stopping (if
   at all) only between blocks: the compiler turns such a loop into vector instructions, several times
   faster than a loop that can stop at any character. A block's count fits in any character type. */
#define SCAN_BLOCK 64
/* scan_page counts the shape characters with `cls >> 7`: the trigger bit must be the class byte's top bit */
_Static_assert(SHAPE_TRIGGER_CHAR == 128, "SHAPE_TRIGGER_CHAR must be bit 7");

/* How many characters of the kind-T text s[0:n] pass TEST (with stop_at_first: 0 or at least 1). */
#define DEFINE_COUNT(NAME, T, TEST)                                                                          \
    static Py_ssize_t NAME(const T *s, Py_ssize_t n, int stop_at_first)                                      \
    {                                                                                                        \
        Py_ssize_t count = 0;                                                                                \
        for (Py_ssize_t i = 0; i < n;) {                                                                     \
            Py_ssize_t end = n - i > SCAN_BLOCK ? i + SCAN_BLOCK : n;                                        \
            T block = 0;                                                                                     \
            for (; i < end; i++) {                                                                           \
                T c = s[i];                                                                                  \
                block += (T)(TEST(c));                                                                       \
            }                                                                                                \
            count += block;                                                                                  \
            if (stop_at_first && count)                                                                      \
                break;                                                                                       \
        }                                                                                                    \
        return count;                                                                                        \
    }

/* The character tests (0 or 1). The one-byte kind cannot hold U+200B, U+FEFF or U+FFFD: its tests leave
   them out (comparing with them would not fit its width). */
#define IS_ODD_NARROW(c) (((c) < 0x20) & ((c) != '\t') & ((c) != '\n') & ((c) != '\r'))
/* extract._ODD_CHAR_RE: [\x00-\x08\x0b\x0c\x0e-\x1f\ufffd] */
#define IS_ODD(c) (IS_ODD_NARROW(c) | ((c) == 0xfffd))
/* plaintext._CONTROL_RE: [\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff\ufffd] */
#define IS_CONTROL_NARROW(c) (IS_ODD_NARROW(c) | ((c) == 0x7f))
#define IS_CONTROL(c) (IS_CONTROL_NARROW(c) | ((c) == 0x200b) | ((c) == 0xfeff) | ((c) == 0xfffd))
#define IS_SPACE_CHAR(c) ((c) == ' ')

DEFINE_COUNT(count_control_1, Py_UCS1, IS_CONTROL_NARROW)
DEFINE_COUNT(count_control_2, Py_UCS2, IS_CONTROL)
DEFINE_COUNT(count_control_4, Py_UCS4, IS_CONTROL)
DEFINE_COUNT(count_odd_1, Py_UCS1, IS_ODD_NARROW)
DEFINE_COUNT(count_odd_2, Py_UCS2, IS_ODD)
DEFINE_COUNT(count_odd_4, Py_UCS4, IS_ODD)
DEFINE_COUNT(count_spaces_1, Py_UCS1, IS_SPACE_CHAR)
DEFINE_COUNT(count_spaces_2, Py_UCS2, IS_SPACE_CHAR)
DEFINE_COUNT(count_spaces_4, Py_UCS4, IS_SPACE_CHAR)

/* FAMILY_1, FAMILY_2 or FAMILY_4 (a DEFINE_COUNT family) on text[0:n], for the text's kind. */
#define COUNT_BY_KIND(FAMILY, text, n, stop_at_first)                                                        \
    (PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND                                                            \
         ? FAMILY##_1(PyUnicode_1BYTE_DATA(text), (n), (stop_at_first))                                      \
     : PyUnicode_KIND(text) == PyUnicode_2BYTE_KIND                                                          \
         ? FAMILY##_2(PyUnicode_2BYTE_DATA(text), (n), (stop_at_first))                                      \
         : FAMILY##_4(PyUnicode_4BYTE_DATA(text), (n), (stop_at_first)))

static PyObject *
has_control_chars(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:has_control_chars", &text))
        return NULL;
    return PyBool_FromLong(COUNT_BY_KIND(count_control, text, PyUnicode_GET_LENGTH(text), 1) != 0);
}

static PyObject *
count_odd_chars(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "Un:count_odd_chars", &text, &limit))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit < n)
        n = limit < 0 ? 0 : limit;
    return PyLong_FromSsize_t(COUNT_BY_KIND(count_odd, text, n, 0));
}

static inline int
is_line_break(Py_UCS4 c)
{
    return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

/* Appends the stripped (str.strip) non-empty lines of q[0:n] to out, at most `limit` in all; -1 on error. */
#define DEFINE_SPLIT(NAME, T)                                                                                \
    static int NAME(PyObject *text, const T *q, Py_ssize_t n, Py_ssize_t limit, PyObject *out)               \
    {                                                                                                        \
        Py_ssize_t start = 0;                                                                                \
        while (start <= n && PyList_GET_SIZE(out) < limit) {                                                 \
            Py_ssize_t end = start;                                                                          \
            while (end < n) {                                                                                \
                T c = q[end];                                                                                \
                if (c <= '\r' ? (c == '\n' || c == '\r') : is_line_break(c))               \
                    break;                                                                                   \
                end++;                                                                                       \
            }                                                                                                \
            Py_ssize_t lo = start, hi = end;                                                                 \
            while (lo < hi && Py_UNICODE_ISSPACE(q[lo]))                                                     \
                lo++;                                                                                        \
            while (hi > lo && Py_UNICODE_ISSPACE(q[hi - 1]))                                                 \
                hi--;                                                                                        \
            if (hi > lo) {                                                                                   \
                PyObject *line = PyUnicode_Substring(text, lo, hi);                                          \
                if (line == NULL)                                                                            \
                    return -1;                                                                               \
                int failed = PyList_Append(out, line);                                                       \
                Py_DECREF(line);                                                                             \
                if (failed < 0)                                                                              \
                    return -1;                                                                               \
            }                                                                                                \
            if (end >= n)                                                                                    \
                break;                                                                                       \
            if (q[end] == '\r' && end + 1 < n && q[end + 1] == '\n')                                         \
                end++;                                                                                       \
            start = end + 1;                                                                                 \
        }                                                                                                    \
        return 0;                                                                                            \
    }

DEFINE_SPLIT(split_1, Py_UCS1)
DEFINE_SPLIT(split_2, Py_UCS2)
DEFINE_SPLIT(split_4, Py_UCS4)

static PyObject *
split_clean_lines(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "Un:split_clean_lines", &text, &limit))
        return NULL;
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    int failed;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        failed = split_1(text, (const Py_UCS1 *)data, n, limit, out);
        break;
    case PyUnicode_2BYTE_KIND:
        failed = split_2(text, (const Py_UCS2 *)data, n, limit, out);
        break;
    default:
        failed = split_4(text, (const Py_UCS4 *)data, n, limit, out);
        break;
    }
    if (failed) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

/* plaintext._is_cjk_text's sample, "".join(lines[:max_lines])[:max_chars], without making it: the number
   of spaces in it and its length. */
static PyObject *
sample_spaces(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *lines;
    Py_ssize_t max_lines, max_chars;
    if (!PyArg_ParseTuple(args, "O!nn:sample_spaces", &PyList_Type, &lines, &max_lines, &max_chars))
        return NULL;
    Py_ssize_t used = 0, spaces = 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(lines) && k < max_lines && used < max_chars; k++) {
        PyObject *line = PyList_GET_ITEM(lines, k);
        if (!PyUnicode_Check(line)) {
            PyErr_SetString(PyExc_TypeError, "sample_spaces: lines must be str");
            return NULL;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(line);
        if (n > max_chars - used)
            n = max_chars - used;
        spaces += COUNT_BY_KIND(count_spaces, line, n, 0);
        used += n;
    }
    return Py_BuildValue("(nn)", spaces, used);
}

/* ------------------------------------------------------------------------------------------------ */
/* lower_text: str.lower of a page's joined lines                                                    */

/* Lower-cases src[0:n] into dst (same kind) character by character with the simple lower-case mapping; returns
   the largest non-ASCII character written, or (Py_UCS4)-1 at the first character whose str.lower is not its
   simple mapping: U+0130 (lower-cased to two characters) and U+03A3 (final or not, depending on its
   neighbours), the only two in Python's Unicode database. Blocks of ASCII characters (most of them, in
   most texts) are mapped without a branch or a table (a loop the compiler vectorises: see SCAN_BLOCK). */
#define LOWER_BLOCK 16
#define DEFINE_LOWER(NAME, T)                                                                                \
    static Py_UCS4 NAME(const T *src, T *dst, Py_ssize_t n)                                                  \
    {                                                                                                        \
        Py_UCS4 top = 0;                                                                                     \
        for (Py_ssize_t i = 0; i < n;) {                                                                     \
            Py_ssize_t end = n - i > LOWER_BLOCK ? i + LOWER_BLOCK : n;                                      \
            T high = 0;                                                                                      \
            for (Py_ssize_t j = i; j < end; j++)                                                             \
                high |= src[j];                                                                              \
            if (high < 0x80) {                                                                               \
                for (; i < end; i++) {                                                                       \
                    T c = src[i];                                                                            \
                    dst[i] = (T)(c + (((T)(c - 'A') < 26) << 5));                                            \
                }                                                                                            \
                continue;                                                                                    \
            }                                                                                                \
            for (; i < end; i++) {                                                                           \
                Py_UCS4 c = src[i];                                                                          \
                if (c < 0x80) {                                                                              \
                    c += (c - 'A' < 26u) << 5;                                                               \
                }                                                                                            \
                else {                                                                                       \
                    if (c == 0x130 || c == 0x3a3)                                                            \
                        return (Py_UCS4)-1;                                                                  \
                    c = Py_UNICODE_TOLOWER(c);                                                               \
                    top = c > top ? c : top;                                                                 \
                }                                                                                            \
                dst[i] = (T)c;                                                                               \
            }                                                                                                \
        }                                                                                                    \
        return top;                                                                                          \
    }

DEFINE_LOWER(lower_1, Py_UCS1)
DEFINE_LOWER(lower_2, Py_UCS2)
DEFINE_LOWER(lower_4, Py_UCS4)

static PyObject *
lower_text(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:lower_text", &text))
        return NULL;
    int kind = PyUnicode_KIND(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* (str.lower is quick on ASCII already) */
    if (PyUnicode_IS_ASCII(text))
        return PyObject_CallMethod(text, "lower", NULL);
    /* The result has the text's kind when its largest character needs that kind (else str.lower decides) */
    Py_UCS4 kind_max = kind == PyUnicode_1BYTE_KIND ? 0xff : kind == PyUnicode_2BYTE_KIND ? 0xffff : 0x10ffff;
    PyObject *lower = PyUnicode_New(n, kind_max);
    if (lower == NULL)
        return NULL;
    Py_UCS4 top;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        top = lower_1(PyUnicode_1BYTE_DATA(text), PyUnicode_1BYTE_DATA(lower), n);
        break;
    case PyUnicode_2BYTE_KIND:
        top = lower_2(PyUnicode_2BYTE_DATA(text), PyUnicode_2BYTE_DATA(lower), n);
        break;
    default:
        top = lower_4(PyUnicode_4BYTE_DATA(text), PyUnicode_4BYTE_DATA(lower), n);
        break;
    }
    Py_UCS4 kind_min = kind == PyUnicode_1BYTE_KIND ? 0x80 : kind == PyUnicode_2BYTE_KIND ? 0x100 : 0x10000;
    if (top == (Py_UCS4)-1 || top > kind_max || top < kind_min) {
        /* A character str.lower maps otherwise, or a result of another kind (rare: "\u212a" -> "k"). */
        Py_DECREF(lower);
        return PyObject_CallMethod(text, "lower", NULL);
    }
    return lower;
}

/* ------------------------------------------------------------------------------------------------ */
/* scan_page                                                                                         */

typedef struct {
    /* inputs */
    Py_ssize_t n;
    const int64_t *lengths, *lower_lengths;
    const uint8_t *table, *alphabet;
    const uint64_t *keys;
    const int64_t *values;
    uint64_t mask, multiplier;
    unsigned shift;
    PyObject *lower, *exact;
    int64_t confirm, stop_bit, we_bit, nav_bit, byline_bit, phrase_bit;
    /* outputs: per line */
    int64_t *words, *capitalised, *digits, *commas, *lower_words, *stopwords, *we_words, *nav_words, *token_bits,
        *first_token_bits;
    uint32_t *first_cp, *last_cp;
    uint8_t *date_hint, *short_date_hint, *byline_start, *shape;
    int folding;
    /* non-ASCII code points that IGNORECASE matching takes for an ASCII letter: (code point, letter) pairs */
    const uint32_t *fold_pairs;
    Py_ssize_t fold_count;
    /* outputs: per lower-case token */
    Py_ssize_t tokens;
    int64_t *t_start, *t_line, *t_length, *t_bits;
    uint64_t *t_key;
    uint8_t *t_class;
    /* scratch for the lower-cased text (lower_total characters): its word and digit masks (one bit per
       character, (lower_total + 63) / 64 + 1 words), its characters' classes and alphabet codes */
    Py_ssize_t lower_total;
    uint64_t *word_mask, *digit_mask;
    uint8_t *classes, *codes;
} Scan;

/* The key of a token of `size` characters (at least 1) whose alphabet codes start at codes[0] (8 bytes
   readable): its first KEY_CHARS codes, the first in the lowest byte. */
static inline uint64_t
load_key(const uint8_t *codes, Py_ssize_t size)
{
    uint64_t key;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&key, codes, 8);
#else
    key = 0;
    for (int m = 0; m < 8; m++)
        key |= (uint64_t)codes[m] << (8 * m);
#endif
    Py_ssize_t chars = size < KEY_CHARS ? size : KEY_CHARS;
    return key & (UINT64_MAX >> (64 - 8 * chars));
}

/* token_bits_of's rare cases: the probe past an occupied slot holding another key, and the long words
   looked up in the exact dictionary. -1 with an exception set on error. (apart and not inlined: the Python
   calls would otherwise crowd the registers of the caller's loop) */
COLD static int64_t
token_bits_slow(const Scan *s, uint64_t full, Py_ssize_t length, Py_ssize_t start)
{
    const uint64_t *keys = s->keys, mask = s->mask;
    uint64_t slot = (full * s->multiplier) >> s->shift;
    int64_t bits = 0;
    /* Open addressing with linear probing; an all-ones key marks an empty slot. */
    for (uint64_t probe = 0; probe <= mask; probe++) {
        uint64_t found_key = keys[slot];
        if (found_key == full) {
            bits = s->values[slot];
            break;
        }
        if (found_key == UINT64_MAX)
            break;
        slot = (slot + 1) & mask;
    }
    if (!(bits & s->confirm))
        return bits;
    PyObject *word = PyUnicode_Substring(s->lower, start, start + length);
    if (word == NULL)
        return -1;
    PyObject *found = PyDict_GetItemWithError(s->exact, word);
    Py_DECREF(word);
    if (found == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return PyLong_AsLongLong(found);
}

/* The token's vocabulary bits: the probed key table, then for long words the exact dictionary; -1 with an
   exception set on error. The table is mostly empty: a key is nearly always in its first slot or absent, both
   common, so the first slot is read without a branch (masks, not a select the compiler could turn into a
   mispredicted branch); only an occupied slot holding another key, or a long word, takes the slow path. */
static inline int64_t
token_bits_of(const Scan *s, uint64_t key, Py_ssize_t length, Py_ssize_t start)
{
    uint64_t capped = (uint64_t)(length < MAX_KEY_LENGTH ? length : MAX_KEY_LENGTH);
    uint64_t full = key | (capped << LENGTH_SHIFT);
    uint64_t slot = (full * s->multiplier) >> s->shift;
    uint64_t found_key = s->keys[slot];
    uint64_t hit = (uint64_t)0 - (uint64_t)(found_key == full);
    int64_t bits = s->values[slot] & (int64_t)hit;
    uint64_t other = ~hit & (uint64_t)(found_key != UINT64_MAX);
    if ((other | (uint64_t)(bits & s->confirm)) != 0)
        return token_bits_slow(s, full, length, start);
    return bits;
}


/* Line-shape bits (pagetext.SHAPE_*): what three regexes / str methods of linemodel say about a line. */
#define SHAPE_SEPARATOR 1 /* linemodel._SEPARATOR_RE.search(line) */
#define SHAPE_URL 2       /* linemodel._URL_RE.search(line) */
#define SHAPE_UPPER 4     /* line.isupper() */
#define SHAPE_COLON 8     /* ":" in line */
#define SHAPE_COPYRIGHT 16 /* "\u00a9" in line */

/* The ASCII letter (lower case) that `c` matches under re.IGNORECASE when it stands for a letter of the
   URL pattern, else 0 (only letters get compared with this). */
static inline Py_UCS4
fold_letter(const Scan *s, Py_UCS4 c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    for (Py_ssize_t k = 0; k < s->fold_count; k++) {
        if (s->fold_pairs[2 * k] == c)
            return s->fold_pairs[2 * k + 1];
    }
    return 0;
}

static inline int
is_bullet(Py_UCS4 c)
{
    /* [•·»›] */
    return c == 0x2022 || c == 0xb7 || c == 0xbb || c == 0x203a;
}

static inline Py_UCS4
char_at(const void *q, size_t width, Py_ssize_t i)
{
    return width == 1 ? ((const Py_UCS1 *)q)[i] : width == 2 ? ((const Py_UCS2 *)q)[i] : ((const Py_UCS4 *)q)[i];
}

/* Do the `count` characters at q[at] (all inside q[0:length]) fold to the letters of `word`? */
static inline int
folds_to_generic(const void *q, size_t width, Py_ssize_t at, Py_ssize_t length, const char *word, Py_ssize_t count,
                 const Scan *s)
{
    if (at < 0 || at + count > length)
        return 0;
    for (Py_ssize_t m = 0; m < count; m++) {
        if (fold_letter(s, char_at(q, width, at + m)) != (Py_UCS4)(unsigned char)word[m])
            return 0;
    }
    return 1;
}

/* _URL_RE = https?://|www\.|\.com\b|\.co\.uk\b|@\w (IGNORECASE), tried at the ':', '.' or '@' at q[i]. */
static int
url_at(const Scan *s, const void *q, size_t width, Py_ssize_t i, Py_ssize_t length)
{
    const uint8_t *table = s->table;
    Py_UCS4 c = char_at(q, width, i);
    if (c == ':') {
        /* "://" preceded by "http" or "https" */
        if (i + 2 >= length || char_at(q, width, i + 1) != '/' || char_at(q, width, i + 2) != '/')
            return 0;
        return folds_to_generic(q, width, i - 4, length, "http", 4, s)
               || folds_to_generic(q, width, i - 5, length, "https", 5, s);
    }
    if (c == '@')
        return i + 1 < length && (table[char_at(q, width, i + 1)] & WORD_CHAR) != 0;
    if (c != '.')
        return 0;
    if (folds_to_generic(q, width, i - 3, length, "www", 3, s))
        return 1;
    /* ".com" or ".co.uk", then a word boundary (the character before it is a letter: a non-word character
       or the end must follow) */
    if (folds_to_generic(q, width, i + 1, length, "com", 3, s)
        && (i + 4 >= length || (table[char_at(q, width, i + 4)] & WORD_CHAR) == 0))
        return 1;
    if (folds_to_generic(q, width, i + 1, length, "co", 2, s) && i + 3 < length && char_at(q, width, i + 3) == '.'
        && folds_to_generic(q, width, i + 4, length, "uk", 2, s)
        && (i + 6 >= length || (table[char_at(q, width, i + 6)] & WORD_CHAR) == 0))
        return 1;
    return 0;
}

/* The shape bits found at q[i], a character with the SHAPE_TRIGGER_CHAR class bit ("|:.@/", the bullets
   and "\u00a9"), in the line q[0:length]. */
static uint8_t
shape_at(const Scan *s, const void *q, size_t width, Py_ssize_t i, Py_ssize_t length)
{
    Py_UCS4 c = char_at(q, width, i);
    if (c == '|')
        return SHAPE_SEPARATOR;
    if (c == 0xa9)
        return SHAPE_COPYRIGHT;
    if (is_bullet(c))
        /* ^[|•·»›] or \s[|•·»›] */
        return i == 0 || Py_UNICODE_ISSPACE(char_at(q, width, i - 1)) ? SHAPE_SEPARATOR : 0;
    if (c == '/')
        /* \s/\s */
        return i > 0 && i + 1 < length && Py_UNICODE_ISSPACE(char_at(q, width, i - 1))
                       && Py_UNICODE_ISSPACE(char_at(q, width, i + 1))
                   ? SHAPE_SEPARATOR
                   : 0;
    return (c == ':' ? SHAPE_COLON : 0) | (url_at(s, q, width, i, length) ? SHAPE_URL : 0);
}

/* Is `c` U+0130 or above? (a function: for the one-byte kind the test is always false, which the compiler
   would warn about in the macro below) */
static inline int
from_u130(Py_UCS4 c)
{
    return c >= 0x130;
}

/* The original text, line by line: words, capitalised words, digits, commas, first and last characters, and
   the shape bits. Each block of SCAN_BLOCK characters is first turned into its class bytes (one table look-up per
   character, the only part that cannot be vectorised), then counted over those bytes and characters without a
   branch (loops the compiler vectorises: see SCAN_BLOCK). The look-up loop notes where the shape characters are,
   without a branch, and they are looked at after it; only a block with a character from U+0130 on (a special
   case-folding one can be there) is gone through again. Kept in locals per block, the counters stay in registers:
   one character no longer waits for the previous one's store (the old single loop's bottleneck). */
#define DEFINE_SCAN_ORIGINAL(NAME, T)                                                                        \
    static void NAME(Scan *s, const T *text)                                                                 \
    {                                                                                                        \
        const uint8_t *table = s->table;                                                                     \
        Py_ssize_t offset = 0;                                                                               \
        int folding = 0;                                                                                     \
        /* classes[1 + j]: the class of the block's character j; classes[0]: the previous character's word bit */ \
        uint8_t classes[SCAN_BLOCK + 1];                                                                     \
        /* where the block's shape characters are (SHAPE_TRIGGER_CHAR is the class byte's top bit) */           \
        uint8_t at[SCAN_BLOCK + 1];                                                                          \
        for (Py_ssize_t k = 0; k < s->n; k++) {                                                              \
            const T *q = text + offset;                                                                      \
            Py_ssize_t length = s->lengths[k];                                                               \
            int64_t words = 0, capitalised = 0, digits = 0, commas = 0;                                      \
            unsigned cased = 0, shape = 0;                                                                   \
            uint8_t previous_word = 0;                                                                       \
            for (Py_ssize_t i = 0; i < length; i += SCAN_BLOCK) {                                            \
                Py_ssize_t size = length - i > SCAN_BLOCK ? SCAN_BLOCK : length - i;                         \
                const T *b = q + i;                                                                          \
                T high = 0;                                                                                  \
                int triggers = 0;                                                                            \
                classes[0] = previous_word;                                                                  \
                for (Py_ssize_t j = 0; j < size; j++) {                                                      \
                    T c = b[j];                                                                              \
                    uint8_t cls = table[c];                                                                  \
                    high |= c;                                                                               \
                    classes[j + 1] = cls;                                                                    \
                    /* (noted without a branch: the next one overwrites the slot unless this is one) */      \
                    at[triggers] = (uint8_t)j;                                                               \
                    triggers += cls >> 7;                                                                    \
                }                                                                                            \
                previous_word = classes[size] & WORD_CHAR;                                                   \
                /* (a block's counts fit in a byte) */                                                       \
                uint8_t block_words = 0, block_capitalised = 0, block_digits = 0, block_commas = 0;          \
                uint8_t block_cased = 0;                                                                     \
                for (Py_ssize_t j = 0; j < size; j++) {                                                      \
                    uint8_t cls = classes[j + 1];                                                            \
                    uint8_t starts = (uint8_t)(cls & ~classes[j] & WORD_CHAR);                               \
                    block_cased |= cls;                                                                      \
                    block_words += starts;                                                                   \
                    block_capitalised += (uint8_t)(starts & (cls >> 2));                                     \
                    block_digits += (uint8_t)((cls >> 1) & 1);                                               \
                }                                                                                            \
                for (Py_ssize_t j = 0; j < size; j++)                                                        \
                    block_commas += (uint8_t)(b[j] == ',');                                                  \
                words += block_words;                                                                        \
                capitalised += block_capitalised;                                                            \
                digits += block_digits;                                                                      \
                commas += block_commas;                                                                      \
                cased |= block_cased;                                                                        \
                for (int m = 0; m < triggers; m++)                                                           \
                    shape |= shape_at(s, q, sizeof(T), i + at[m], length);                                   \
                /* U+0130, U+0131, U+017F, U+212A: only a block with a character from U+0130 on can hold one */ \
                if (from_u130(high)) {                                                                       \
                    for (Py_ssize_t j = 0; j < size; j++) {                                                  \
                        Py_UCS4 c = b[j];                                                                    \
                        folding |= c == 0x130 || c == 0x131 || c == 0x17f || c == 0x212a;                    \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
            s->words[k] = words;                                                                             \
            s->capitalised[k] = capitalised;                                                                 \
            s->digits[k] = digits;                                                                           \
            s->commas[k] = commas;                                                                           \
            s->first_cp[k] = (uint32_t)q[0];                                                                 \
            s->last_cp[k] = (uint32_t)q[length - 1];                                                         \
            /* str.isupper(): an upper-case character and no lower-case or title-case one */                \
            if ((cased & (UPPER_CHAR | LOWER_OR_TITLE_CHAR)) == UPPER_CHAR)                                  \
                shape |= SHAPE_UPPER;                                                                        \
            s->shape[k] = (uint8_t)shape;                                                                    \
            offset += length + 1;                                                                            \
        }                                                                                                    \
        s->folding = folding;                                                                                \
    }

/* The lower-cased text's tokens, line by line, with their keys and vocabulary bits, and the date hints (a digit
   followed by a letter; four digits in a row), which can only occur inside tokens.
   A first loop (lower_classes_*, per character kind) looks up every character's class and alphabet code (table
   look-ups and stores, no branch); scan_lower turns the classes into bit masks of the word characters and of
   the digits, one bit per character in words of 64, eight characters at a time. The tokens are then the runs of ones of the word mask: their starts found with
   count-trailing-zeros, their ends with the same on the inverted mask; a token's key is its first KEY_CHARS
   codes read at once and cut to its length, and the date hints are bit operations on a line's masks. The
   scan's per-character test-and-branch (mispredicted at every token's end) is gone; the remaining branches are
   per line and per mask word. A line's tokens are looked up in the vocabulary in a loop of their own, where
   the look-ups do not wait for each other. */
_Static_assert(WORD_CHAR == 1 && DIGIT_CHAR == 2, "the masks take the word and digit bits as bits 0 and 1");
#define BYTE_LOW_BITS 0x0101010101010101u
/* (x & BYTE_LOW_BITS) * GATHER_BITS >> 56: the low bits of x's eight bytes as one byte, byte 0's bit lowest */
#define GATHER_BITS 0x0102040810204080u

#define DEFINE_LOWER_CLASSES(NAME, T)                                                                          \
    NOINLINE static void NAME(Scan *s, const T *text)                                                        \
    {                                                                                                        \
        const uint8_t *table = s->table, *alphabet = s->alphabet;                                            \
        uint8_t *classes = s->classes, *codes = s->codes;                                                    \
        const Py_ssize_t total = s->lower_total;                                                             \
        for (Py_ssize_t i = 0; i < total; i++) {                                                             \
            T c = text[i];                                                                                   \
            classes[i] = table[c];                                                                           \
            codes[i] = alphabet[c];                                                                          \
        }                                                                                                    \
    }

DEFINE_LOWER_CLASSES(lower_classes_1, Py_UCS1)
DEFINE_LOWER_CLASSES(lower_classes_2, Py_UCS2)
DEFINE_LOWER_CLASSES(lower_classes_4, Py_UCS4)

NOINLINE static int
scan_lower(Scan *s)
{
    /* (the fields used per token in locals: the stores below cannot change them) */
    const int64_t stop_bit = s->stop_bit, we_bit = s->we_bit, nav_bit = s->nav_bit, byline_bit = s->byline_bit,
                  phrase_bit = s->phrase_bit;
    int64_t *t_start = s->t_start, *t_line = s->t_line, *t_length = s->t_length, *t_bits = s->t_bits;
    uint64_t *t_key = s->t_key;
    uint8_t *t_class = s->t_class;
    uint64_t *word_mask = s->word_mask, *digit_mask = s->digit_mask;
    uint8_t *classes = s->classes, *codes = s->codes;
    const Py_ssize_t lines = s->n, total = s->lower_total, blocks = (total + 63) / 64;
    /* (past the text: no class, so every token ends; no code, so a key read there is 0) */
    memset(classes + total, 0, (size_t)(64 * blocks + 8 - total));
    memset(codes + total, 0, 8);
    for (Py_ssize_t block = 0; block < blocks; block++) {
        const uint8_t *cls = classes + 64 * block;
        uint64_t words = 0, digits = 0;
        for (int j = 0; j < 64; j += 8) {
            uint64_t x;
            memcpy(&x, cls + j, 8); /* (the byte order does not matter: each byte is taken alone) */
            uint64_t w = x & BYTE_LOW_BITS, d = (x >> 1) & x & BYTE_LOW_BITS;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
            w = __builtin_bswap64(w);
            d = __builtin_bswap64(d);
#endif
            words |= ((w * GATHER_BITS) >> 56) << j;
            digits |= ((d * GATHER_BITS) >> 56) << j;
        }
        word_mask[block] = words;
        digit_mask[block] = digits;
    }
    word_mask[blocks] = digit_mask[blocks] = 0;
    /* The separators between lines belong to no token, whatever their class. */
    for (Py_ssize_t k = 0, at = 0; k + 1 < lines; k++) {
        at += s->lower_lengths[k];
        word_mask[at >> 6] &= ~((uint64_t)1 << (at & 63));
        digit_mask[at >> 6] &= ~((uint64_t)1 << (at & 63));
        at++;
    }
    Py_ssize_t offset = 0, t = 0;
    for (Py_ssize_t k = 0; k < lines; k++) {
        Py_ssize_t length = s->lower_lengths[k], last = offset + length - 1;
        Py_ssize_t line_tokens = t;
        uint64_t short_hint = 0, date_hint = 0;
        for (Py_ssize_t block = offset >> 6; block <= last >> 6; block++) {
            /* the line's characters in this mask word */
            uint64_t range = UINT64_MAX;
            if (block == offset >> 6)
                range &= UINT64_MAX << (offset & 63);
            if (block == last >> 6)
                range &= UINT64_MAX >> (63 - (last & 63));
            uint64_t words = word_mask[block], next_words = word_mask[block + 1];
            uint64_t before = block > 0 ? word_mask[block - 1] >> 63 : 0;
            uint64_t starts = words & ~((words << 1) | before) & range;
            uint64_t digits = digit_mask[block] & range;
            if (digits) {
                /* the masks from the next character, the second next and the third next on */
                uint64_t next_digits = digit_mask[block + 1];
                uint64_t digits1 = (digit_mask[block] >> 1) | (next_digits << 63);
                uint64_t digits2 = (digit_mask[block] >> 2) | (next_digits << 62);
                uint64_t digits3 = (digit_mask[block] >> 3) | (next_digits << 61);
                uint64_t words1 = (words >> 1) | (next_words << 63);
                /* a digit, then a word character that is no digit (so in the same token) */
                short_hint |= digits & words1 & ~digits1;
                date_hint |= digits & digits1 & digits2 & digits3;
            }
            while (starts) {
                int bit = __builtin_ctzll(starts);
                starts &= starts - 1;
                Py_ssize_t start = 64 * block + bit;
                /* its end: the first character after it that is no word character */
                Py_ssize_t end_block = block;
                uint64_t rest = ~words & (UINT64_MAX << bit);
                while (!rest)
                    rest = ~word_mask[++end_block];
                Py_ssize_t size = 64 * end_block + __builtin_ctzll(rest) - start;
                t_start[t] = start;
                t_key[t] = load_key(codes + start, size);
                t_length[t] = size;
                t++;
            }
        }
        int64_t stopwords = 0, we_words = 0, nav_words = 0, token_bits = 0;
        for (Py_ssize_t u = line_tokens; u < t; u++) {
            int64_t bits = token_bits_of(s, t_key[u], t_length[u], t_start[u]);
            if (bits < 0 && PyErr_Occurred())
                return -1;
            stopwords += (bits & stop_bit) != 0;
            we_words += (bits & we_bit) != 0;
            nav_words += (bits & nav_bit) != 0;
            token_bits |= bits;
            t_line[u] = k;
            t_bits[u] = bits;
            t_class[u] = classes[t_start[u]];
        }
        if (t > line_tokens) {
            s->first_token_bits[k] = t_bits[line_tokens];
            s->byline_start[k] = t_start[line_tokens] == offset && (t_bits[line_tokens] & byline_bit) != 0;
        }
        s->lower_words[k] = t - line_tokens;
        s->stopwords[k] = stopwords;
        s->we_words[k] = we_words;
        s->nav_words[k] = nav_words;
        s->token_bits[k] = token_bits;
        /* Only the tokens of the lines the phrase regex is tried on are kept. */
        if (!(token_bits & phrase_bit) && !(s->shape[k] & SHAPE_COPYRIGHT))
            t = line_tokens;
        s->short_date_hint[k] = short_hint != 0;
        s->date_hint[k] = date_hint != 0;
        offset += length + 1;
    }
    s->tokens = t;
    return 0;
}

DEFINE_SCAN_ORIGINAL(scan_original_1, Py_UCS1)
DEFINE_SCAN_ORIGINAL(scan_original_2, Py_UCS2)
DEFINE_SCAN_ORIGINAL(scan_original_4, Py_UCS4)

static PyObject *
bytearray_of(const void *data, Py_ssize_t size)
{
    return PyByteArray_FromStringAndSize((const char *)data, size);
}

static PyObject *
scan_page(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *joined, *lower, *exact, *result = NULL;
    Py_buffer lengths_b = {0}, lower_lengths_b = {0}, table_b = {0}, alphabet_b = {0}, keys_b = {0},
              values_b = {0}, folds_b = {0};
    unsigned long long multiplier, shift;
    long long confirm, stop_bit, we_bit, nav_bit, byline_bit, phrase_bit;
    char *per_line = NULL, *per_token = NULL, *scratch = NULL;
    Scan s;
    memset(&s, 0, sizeof(s));

    if (!PyArg_ParseTuple(args, "UUy*y*y*y*KKy*y*O!LLLLLLy*:scan_page", &joined, &lower, &lengths_b,
                          &lower_lengths_b, &table_b, &alphabet_b, &multiplier, &shift, &keys_b, &values_b,
                          &PyDict_Type, &exact, &confirm, &stop_bit, &we_bit, &nav_bit, &byline_bit, &phrase_bit,
                          &folds_b))
        return NULL;

    Py_ssize_t n = lengths_b.len / 8;
    Py_ssize_t slots = keys_b.len / 8;
    if (lower_lengths_b.len != lengths_b.len || table_b.len < 0x110000 || alphabet_b.len < 0x110000
        || values_b.len != keys_b.len || slots == 0 || (slots & (slots - 1)) != 0 || shift < 1
        || shift >= 64 || ((uint64_t)1 << (64 - shift)) != (uint64_t)slots || lengths_b.len % 8 != 0 || keys_b.len % 8 != 0
        || folds_b.len % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "scan_page: inconsistent arguments");
        goto done;
    }
    s.n = n;
    s.lengths = (const int64_t *)lengths_b.buf;
    s.lower_lengths = (const int64_t *)lower_lengths_b.buf;
    s.table = (const uint8_t *)table_b.buf;
    s.alphabet = (const uint8_t *)alphabet_b.buf;
    s.keys = (const uint64_t *)keys_b.buf;
    s.values = (const int64_t *)values_b.buf;
    s.mask = (uint64_t)slots - 1;
    s.multiplier = multiplier;
    s.shift = (unsigned)shift;
    s.lower = lower;
    s.exact = exact;
    s.confirm = confirm;
    s.stop_bit = stop_bit;
    s.we_bit = we_bit;
    s.nav_bit = nav_bit;
    s.byline_bit = byline_bit;
    s.phrase_bit = phrase_bit;
    s.fold_pairs = (const uint32_t *)folds_b.buf;
    s.fold_count = folds_b.len / 8;

    /* The lines must tile the strings: every line non-empty, one separator between lines. */
    Py_ssize_t total = PyUnicode_GET_LENGTH(joined), ltotal = PyUnicode_GET_LENGTH(lower);
    Py_ssize_t sum = 0, lsum = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (s.lengths[k] <= 0 || s.lower_lengths[k] <= 0) {
            PyErr_SetString(PyExc_ValueError, "scan_page: empty line");
            goto done;
        }
        /* (checked before adding: the sums never exceed the texts' lengths by more than one line) */
        if (s.lengths[k] > total - sum + 1 || s.lower_lengths[k] > ltotal - lsum + 1) {
            PyErr_SetString(PyExc_ValueError, "scan_page: lengths do not match the text");
            goto done;
        }
        sum += s.lengths[k] + 1;
        lsum += s.lower_lengths[k] + 1;
    }
    if (n == 0 || sum - 1 != total || lsum - 1 != ltotal) {
        PyErr_SetString(PyExc_ValueError, "scan_page: lengths do not match the text");
        goto done;
    }

    /* Ten int64 and two uint32 columns and four byte columns per line; every column zeroed. */
    per_line = (char *)PyMem_Calloc((size_t)n, 10 * 8 + 2 * 4 + 4);
    /* A token is at least one character and tokens are separated: at most (ltotal + 1) / 2 of them. */
    Py_ssize_t most = (ltotal + 1) / 2 + 1;
    if (most > PY_SSIZE_T_MAX / (5 * 8 + 1)) {
        PyErr_NoMemory();
        goto done;
    }
    per_token = (char *)PyMem_Malloc((size_t)most * (5 * 8 + 1));
    /* The lower pass's scratch: two masks of (ltotal + 63) / 64 + 1 words, then the classes and the codes
       (64 * (mask_words - 1) + 8 and ltotal + 8 bytes: read 64 or 8 at a time past the text). */
    Py_ssize_t mask_words = (ltotal + 63) / 64 + 1;
    scratch = (char *)PyMem_Malloc((size_t)mask_words * 2 * 8 + (size_t)(64 * (mask_words - 1) + 8)
                                   + (size_t)ltotal + 8);
    if (per_line == NULL || per_token == NULL || scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *columns = (int64_t *)per_line;
    s.words = columns;
    s.capitalised = columns + n;
    s.digits = columns + 2 * n;
    s.commas = columns + 3 * n;
    s.lower_words = columns + 4 * n;
    s.stopwords = columns + 5 * n;
    s.we_words = columns + 6 * n;
    s.nav_words = columns + 7 * n;
    s.token_bits = columns + 8 * n;
    s.first_token_bits = columns + 9 * n;
    s.first_cp = (uint32_t *)(columns + 10 * n);
    s.last_cp = s.first_cp + n;
    s.date_hint = (uint8_t *)(s.last_cp + n);
    s.short_date_hint = s.date_hint + n;
    s.byline_start = s.short_date_hint + n;
    s.shape = s.byline_start + n;
    int64_t *token_columns = (int64_t *)per_token;
    s.t_start = token_columns;
    s.t_line = token_columns + most;
    s.t_length = token_columns + 2 * most;
    s.t_bits = token_columns + 3 * most;
    s.t_key = (uint64_t *)(token_columns + 4 * most);
    s.t_class = (uint8_t *)(token_columns + 5 * most);
    s.lower_total = ltotal;
    s.word_mask = (uint64_t *)scratch;
    s.digit_mask = s.word_mask + mask_words;
    s.classes = (uint8_t *)(s.digit_mask + mask_words);
    s.codes = s.classes + 64 * (mask_words - 1) + 8;

    const void *data = PyUnicode_DATA(joined);
    switch (PyUnicode_KIND(joined)) {
    case PyUnicode_1BYTE_KIND:
        scan_original_1(&s, (const Py_UCS1 *)data);
        break;
    case PyUnicode_2BYTE_KIND:
        scan_original_2(&s, (const Py_UCS2 *)data);
        break;
    default:
        scan_original_4(&s, (const Py_UCS4 *)data);
        break;
    }
    const void *ldata = PyUnicode_DATA(lower);
    switch (PyUnicode_KIND(lower)) {
    case PyUnicode_1BYTE_KIND:
        lower_classes_1(&s, (const Py_UCS1 *)ldata);
        break;
    case PyUnicode_2BYTE_KIND:
        lower_classes_2(&s, (const Py_UCS2 *)ldata);
        break;
    default:
        lower_classes_4(&s, (const Py_UCS4 *)ldata);
        break;
    }
    int failed = scan_lower(&s);
    if (failed)
        goto done;

    Py_ssize_t tokens = s.tokens;
    result = Py_BuildValue(
        "(NNNNNNNNNNNNNNNNNNNNNNN)", bytearray_of(s.words, n * 8), bytearray_of(s.capitalised, n * 8),
        bytearray_of(s.digits, n * 8), bytearray_of(s.commas, n * 8), bytearray_of(s.lower_words, n * 8),
        bytearray_of(s.stopwords, n * 8), bytearray_of(s.we_words, n * 8), bytearray_of(s.nav_words, n * 8),
        bytearray_of(s.token_bits, n * 8), bytearray_of(s.first_token_bits, n * 8), bytearray_of(s.first_cp, n * 4),
        bytearray_of(s.last_cp, n * 4), bytearray_of(s.date_hint, n), bytearray_of(s.short_date_hint, n),
        bytearray_of(s.byline_start, n), PyBool_FromLong(s.folding), bytearray_of(s.t_start, tokens * 8),
        bytearray_of(s.t_line, tokens * 8), bytearray_of(s.t_key, tokens * 8), bytearray_of(s.t_length, tokens * 8),
        bytearray_of(s.t_bits, tokens * 8), bytearray_of(s.t_class, tokens),
        bytearray_of(s.shape, n));

done:
    PyMem_Free(per_line);
    PyMem_Free(per_token);
    PyMem_Free(scratch);
    PyBuffer_Release(&lengths_b);
    PyBuffer_Release(&lower_lengths_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&alphabet_b);
    PyBuffer_Release(&keys_b);
    PyBuffer_Release(&values_b);
    PyBuffer_Release(&folds_b);
    return result;
}

/* ------------------------------------------------------------------------------------------------ */
/* language: the byte n-gram automaton                                                               */

#define SEGMENT 256
#define LANES 16

/* The automaton's states are at most `depth` bytes deep, so the state after a byte depends only on the
   last `depth` bytes: each sample is walked in segments of SEGMENT bytes, each started `depth - 1` bytes
   early from the start state (never before its sample's start), and LANES segments are walked side by
   side. A walk is a chain of dependent loads from a table of tens of megabytes; side by side, the cache
   misses of the lanes overlap instead of queueing. */
static PyObject *
walk_features(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer data_b = {0}, sizes_b = {0}, nextmove_b = {0}, rowbase_b = {0}, output_b = {0};
    Py_ssize_t width, depth;
    PyObject *result = NULL, *cuts = NULL;
    int64_t *seen = NULL;
    uint64_t *marks = NULL;
    int64_t *features = NULL, *touched = NULL, *keys = NULL, *counts = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*nn:walk_features", &data_b, &sizes_b, &nextmove_b, &rowbase_b,
                          &output_b, &width, &depth))
        return NULL;
    const uint8_t *data = (const uint8_t *)data_b.buf;
    const int64_t *sizes = (const int64_t *)sizes_b.buf;
    const uint32_t *nextmove = (const uint32_t *)nextmove_b.buf;
    const int64_t *rowbase = (const int64_t *)rowbase_b.buf;
    const int64_t *output = (const int64_t *)output_b.buf;
    Py_ssize_t samples = sizes_b.len / 8, moves = nextmove_b.len / 4, states = rowbase_b.len / 8;
    if (output_b.len != rowbase_b.len || width <= 0 || depth < 1 || states == 0) {
        PyErr_SetString(PyExc_ValueError, "walk_features: inconsistent arguments");
        goto done;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t k = 0; k < samples; k++) {
        if (sizes[k] < 0 || sizes[k] > data_b.len - total) {
            PyErr_SetString(PyExc_ValueError, "walk_features: sizes do not match the data");
            goto done;
        }
        total += sizes[k];
    }
    if (total != data_b.len) {
        PyErr_SetString(PyExc_ValueError, "walk_features: sizes do not match the data");
        goto done;
    }
    if (total >= PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(int64_t)) {
        PyErr_NoMemory();
        goto done;
    }
    seen = (int64_t *)PyMem_Calloc((size_t)width, sizeof(int64_t));
    marks = (uint64_t *)PyMem_Calloc((size_t)width / 64 + 1, sizeof(uint64_t));
    features = (int64_t *)PyMem_Malloc((size_t)(total + 1) * sizeof(int64_t));
    touched = (int64_t *)PyMem_Malloc((size_t)(total + 1) * sizeof(int64_t));
    keys = (int64_t *)PyMem_Malloc((size_t)(total + 1) * sizeof(int64_t));
    counts = (int64_t *)PyMem_Malloc((size_t)(total + 1) * sizeof(int64_t));
    cuts = PyList_New(samples + 1);
    if (seen == NULL || marks == NULL || features == NULL || touched == NULL || keys == NULL || counts == NULL
        || cuts == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }

    /* Walk: every position's feature (or -1). */
    {
        Py_ssize_t lane_pos[LANES], lane_begin[LANES], lane_end[LANES];
        uint32_t lane_state[LANES];
        Py_ssize_t sample = 0, sample_start = 0, next_begin = 0;
        for (;;) {
            int active = 0;
            /* Fill the lanes with the next segments. */
            for (int g = 0; g < LANES; g++) {
                while (sample < samples && next_begin >= sample_start + sizes[sample]) {
                    sample_start += sizes[sample];
                    sample++;
                    next_begin = sample_start;
                }
                if (sample >= samples) {
                    lane_pos[g] = lane_end[g] = lane_begin[g] = 0;
                    continue;
                }
                Py_ssize_t end = sample_start + sizes[sample];
                lane_begin[g] = next_begin;
                lane_end[g] = next_begin + SEGMENT < end ? next_begin + SEGMENT : end;
                lane_pos[g] = next_begin - (depth - 1) > sample_start ? next_begin - (depth - 1) : sample_start;
                lane_state[g] = 0;
                next_begin = lane_end[g];
                active = 1;
            }
            if (!active)
                break;
            for (;;) {
                int busy = 0;
                for (int g = 0; g < LANES; g++) {
                    Py_ssize_t at = lane_pos[g];
                    if (at >= lane_end[g])
                        continue;
                    busy = 1;
                    int64_t move = rowbase[lane_state[g]] + data[at];
                    if (move < 0 || move >= moves) {
                        PyErr_SetString(PyExc_ValueError, "walk_features: move out of range");
                        goto done;
                    }
                    uint32_t state = nextmove[move];
                    if ((Py_ssize_t)state >= states) {
                        PyErr_SetString(PyExc_ValueError, "walk_features: state out of range");
                        goto done;
                    }
                    lane_state[g] = state;
                    if (at >= lane_begin[g])
                        features[at] = output[state];
                    lane_pos[g] = at + 1;
                }
                if (!busy)
                    break;
            }
        }
    }

    /* Count: each sample's features, ascending, with how often each occurs. */
    Py_ssize_t at = 0, used = 0;
    PyList_SET_ITEM(cuts, 0, PyLong_FromSsize_t(0));
    for (Py_ssize_t k = 0; k < samples; k++) {
        Py_ssize_t distinct = 0;
        for (Py_ssize_t i = 0; i < sizes[k]; i++, at++) {
            int64_t feature = features[at];
            if (feature >= 0) {
                if (feature >= width) {
                    PyErr_SetString(PyExc_ValueError, "walk_features: feature out of range");
                    goto done;
                }
                if (seen[feature]++ == 0)
                    touched[distinct++] = feature;
            }
        }
        /* Ascending without a sort: mark the features in a bitmap, then read its words from the lowest
           feature's to the highest's (a few hundred words at most, against a sort's compares). */
        if (distinct > 0) {
            int64_t low = touched[0], high = touched[0];
            for (Py_ssize_t j = 0; j < distinct; j++) {
                int64_t feature = touched[j];
                marks[feature >> 6] |= (uint64_t)1 << (feature & 63);
                low = feature < low ? feature : low;
                high = feature > high ? feature : high;
            }
            for (int64_t word = low >> 6; word <= high >> 6; word++) {
                uint64_t bits = marks[word];
                marks[word] = 0;
                while (bits) {
                    int64_t feature = (word << 6) + __builtin_ctzll(bits);
                    bits &= bits - 1;
                    keys[used] = feature;
                    counts[used] = seen[feature];
                    seen[feature] = 0;
                    used++;
                }
            }
        }
        PyObject *cut = PyLong_FromSsize_t(used);
        if (cut == NULL)
            goto done;
        PyList_SET_ITEM(cuts, k + 1, cut);
    }
    result = Py_BuildValue("(NNO)", bytearray_of(keys, used * 8), bytearray_of(counts, used * 8), cuts);

done:
    Py_XDECREF(cuts);
    PyMem_Free(seen);
    PyMem_Free(marks);
    PyMem_Free(features);
    PyMem_Free(touched);
    PyMem_Free(keys);
    PyMem_Free(counts);
    PyBuffer_Release(&data_b);
    PyBuffer_Release(&sizes_b);
    PyBuffer_Release(&nextmove_b);
    PyBuffer_Release(&rowbase_b);
    PyBuffer_Release(&output_b);
    return result;
}


/* ------------------------------------------------------------------------------------------------ */
/* language: the samples' scores                                                                     */

/* Each sample's scores are the sum, over its features, of log1p(count) times the feature's row of weights
   (`classes` numbers). The rows (tens of megabytes in all) are mostly not in the cache, so what costs is
   reading them: here a feature's row is read once per batch, not once per sample that has the feature (a
   batch's distinct features are about a third of its entries). The entries are put in feature order (a
   stable radix sort); each row, once read, is added into the score row of every sample that has it (a
   batch's score rows, a few tens of kilobytes, stay in the cache), and the row PREFETCH features ahead is
   asked for meanwhile, so that several rows come from memory at a time instead of one after the other. The
   weights may be float16 (the model's own type: half the bytes to read), widened exactly.
   Each sample's sum is still taken in ascending feature order, one float32 multiply and one float32 add per
   term: the result does not depend on the batch, or on which of the functions below runs (none of them fuses
   the multiply and the add). */
#define RADIX_BITS 11
#define PREFETCH 8

/* An IEEE binary16 number as a float32 (exact for every value: zeros, subnormals, infinities, NaNs). */
static inline float
half_to_float(uint16_t half)
{
    uint32_t sign = (uint32_t)(half & 0x8000u) << 16, exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f)
        bits = sign | 0x7f800000u | (mantissa << 13);
    else if (exponent != 0)
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    else if (mantissa == 0)
        bits = sign;
    else {
        uint32_t shift = 0; /* a subnormal: shifted until its leading one is the implicit bit */
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            shift++;
        }
        bits = sign | ((113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float value;
    memcpy(&value, &bits, sizeof(value));
    return value;
}

static void
half_row(const uint16_t *src, float *dst, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        dst[i] = half_to_float(src[i]);
}

/* acc += value * row, rounded after the multiply and after the add (as numpy's float32 operations). */
static void
add_scaled(float *restrict acc, const float *restrict row, float value, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        acc[i] += value * row[i];
}

/* Where the compiler can dispatch at run time (GCC or Clang on x86), the same two loops with AVX (eight
   floats at a time) and F16C (the conversion in one instruction); "fma" is deliberately not enabled, so
   the compiler cannot fuse the multiply and the add, and both versions give the same bits. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define SCORES_DISPATCH 1

__attribute__((target("avx,f16c"))) static void
half_row_f16c(const uint16_t *src, float *dst, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = half_to_float(src[i]);
}

__attribute__((target("avx"))) static void
add_scaled_avx(float *restrict acc, const float *restrict row, float value, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        acc[i] += value * row[i];
}
#endif

static PyObject *
feature_scores(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer keys_b = {0}, values_b = {0}, cuts_b = {0}, weights_b = {0};
    Py_ssize_t classes;
    int half;
    PyObject *result = NULL;
    uint32_t *order = NULL, *spare = NULL, *sample_of = NULL;
    float *scores = NULL, *converted = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*np:feature_scores", &keys_b, &values_b, &cuts_b, &weights_b, &classes,
                          &half))
        return NULL;
    const int64_t *keys = (const int64_t *)keys_b.buf;
    const float *values = (const float *)values_b.buf;
    const int64_t *cuts = (const int64_t *)cuts_b.buf;
    Py_ssize_t entries = keys_b.len / 8, samples = cuts_b.len / 8 - 1, item = half ? 2 : 4;
    if (keys_b.len % 8 != 0 || values_b.len != entries * 4 || cuts_b.len % 8 != 0 || samples < 0 || classes <= 0
        || classes > PY_SSIZE_T_MAX / 4 / item || weights_b.len % (classes * item) != 0) {
        PyErr_SetString(PyExc_ValueError, "feature_scores: inconsistent arguments");
        goto done;
    }
    Py_ssize_t rows = weights_b.len / (classes * item);
    if (cuts[0] != 0 || cuts[samples] != entries) {
        PyErr_SetString(PyExc_ValueError, "feature_scores: cuts do not match the entries");
        goto done;
    }
    for (Py_ssize_t k = 0; k < samples; k++) {
        if (cuts[k + 1] < cuts[k]) {
            PyErr_SetString(PyExc_ValueError, "feature_scores: cuts do not match the entries");
            goto done;
        }
    }
    int64_t max_key = 0;
    for (Py_ssize_t i = 0; i < entries; i++) {
        if (keys[i] < 0 || keys[i] >= rows) {
            PyErr_SetString(PyExc_ValueError, "feature_scores: feature out of range");
            goto done;
        }
        max_key = keys[i] > max_key ? keys[i] : max_key;
    }
    if (entries >= (Py_ssize_t)UINT32_MAX || (samples > 0 && classes > PY_SSIZE_T_MAX / 4 / samples)) {
        PyErr_NoMemory();
        goto done;
    }
    order = (uint32_t *)PyMem_Malloc((size_t)(entries + 1) * sizeof(uint32_t));
    spare = (uint32_t *)PyMem_Malloc((size_t)(entries + 1) * sizeof(uint32_t));
    sample_of = (uint32_t *)PyMem_Malloc((size_t)(entries + 1) * sizeof(uint32_t));
    scores = (float *)PyMem_Calloc((size_t)(samples * classes + 1), sizeof(float));
    converted = (float *)PyMem_Malloc((size_t)classes * sizeof(float));
    if (order == NULL || spare == NULL || sample_of == NULL || scores == NULL || converted == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < samples; k++)
        for (Py_ssize_t i = cuts[k]; i < cuts[k + 1]; i++)
            sample_of[i] = (uint32_t)k;
    for (Py_ssize_t i = 0; i < entries; i++)
        order[i] = (uint32_t)i;
    /* Stable LSD radix sort of the entries by feature: a feature's entries stay in sample order, and a
       sample's entries in their given order. */
    for (int shift = 0; shift < 64 && (max_key >> shift) != 0; shift += RADIX_BITS) {
        Py_ssize_t starts[(1 << RADIX_BITS) + 1];
        memset(starts, 0, sizeof(starts));
        for (Py_ssize_t i = 0; i < entries; i++)
            starts[((keys[i] >> shift) & ((1 << RADIX_BITS) - 1)) + 1]++;
        for (int d = 0; d < (1 << RADIX_BITS); d++)
            starts[d + 1] += starts[d];
        for (Py_ssize_t i = 0; i < entries; i++) {
            uint32_t e = order[i];
            spare[starts[(keys[e] >> shift) & ((1 << RADIX_BITS) - 1)]++] = e;
        }
        uint32_t *swap = order;
        order = spare;
        spare = swap;
    }

    void (*convert)(const uint16_t *, float *, Py_ssize_t) = half_row;
    void (*add)(float *restrict, const float *restrict, float, Py_ssize_t) = add_scaled;
#ifdef SCORES_DISPATCH
    if (__builtin_cpu_supports("avx")) {
        add = add_scaled_avx;
        if (__builtin_cpu_supports("f16c"))
            convert = half_row_f16c;
    }
#endif
    /* The distinct features in order: group g's entries are order[group_start[g]:group_start[g + 1]]. */
    uint32_t *group_start = spare;
    Py_ssize_t groups = 0;
    for (Py_ssize_t j = 0; j < entries; j++) {
        if (j == 0 || keys[order[j]] != keys[order[j - 1]])
            group_start[groups++] = (uint32_t)j;
    }
    group_start[groups] = (uint32_t)entries;
    Py_ssize_t row_bytes = classes * item;
    for (Py_ssize_t g = 0; g < groups; g++) {
        if (g + PREFETCH < groups) {
            const char *ahead = (const char *)weights_b.buf + keys[order[group_start[g + PREFETCH]]] * row_bytes;
            for (Py_ssize_t b = 0; b < row_bytes; b += 64)
                __builtin_prefetch(ahead + b);
            __builtin_prefetch(ahead + row_bytes - 1);
        }
        int64_t key = keys[order[group_start[g]]];
        const float *row;
        if (half) {
            convert((const uint16_t *)weights_b.buf + key * classes, converted, classes);
            row = converted;
        }
        else
            row = (const float *)weights_b.buf + key * classes;
        for (Py_ssize_t j = group_start[g]; j < group_start[g + 1]; j++) {
            uint32_t e = order[j];
            add(scores + (Py_ssize_t)sample_of[e] * classes, row, values[e], classes);
        }
    }
    result = bytearray_of(scores, samples * classes * 4);

done:
    PyMem_Free(order);
    PyMem_Free(spare);
    PyMem_Free(sample_of);
    PyMem_Free(scores);
    PyMem_Free(converted);
    PyBuffer_Release(&keys_b);
    PyBuffer_Release(&values_b);
    PyBuffer_Release(&cuts_b);
    PyBuffer_Release(&weights_b);
    return result;
}



/* ------------------------------------------------------------------------------------------------ */
/* line_columns: the numeric columns of linemodel.batch_line_features                                */

/* Column numbers, in the order of linemodel._NATIVE_COLUMNS (the caller passes where each one goes). */
enum {
    C_BIAS, C_LOG_WORDS, C_LOG_CHARS, C_TERMINAL, C_SENTENCE_END, C_LONG15, C_SHORT3, C_STARTS_UPPER,
    C_STARTS_QUOTE, C_TITLECASE_RATIO, C_DIGIT_RATIO, C_PHRASE, C_PROMO, C_YOU, C_WE, C_SEPARATOR, C_URL,
    C_COMMA_RATIO, C_STOP_RATIO, C_ALL_UPPER, C_ENDS_COLON, C_POSITION, C_IN_HEADER, C_AFTER_HEADER,
    C_FIRST_AFTER_HEADER, C_DATE_LIKE, C_BYLINE_LIKE, C_BEFORE_MAIN, C_AFTER_MAIN, C_IN_MAIN, C_DENS3, C_DENS8,
    C_PREV_PROSE, C_NEXT_PROSE, C_PREV_WORDS, C_NEXT_WORDS, C_HEADLINEISH, C_GAP_TO_PROSE, C_RUN_SHORT,
    C_RUN_FLANKED, C_PROMO_NEAR, C_COUNT
};

/* One int64 (or other) column given as a buffer, checked to hold `count` items of `size` bytes. */
static int
check_column(const Py_buffer *b, Py_ssize_t count, Py_ssize_t size, const char *name)
{
    if (b->len != count * size) {
        PyErr_Format(PyExc_ValueError, "line_columns: %s has the wrong size", name);
        return -1;
    }
    return 0;
}

static PyObject *
line_columns(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer m_b = {0}, cols_b = {0}, words_b = {0}, lengths_b = {0}, caps_b = {0}, digits_b = {0},
              commas_b = {0}, stops_b = {0}, we_b = {0}, bits_b = {0}, first_b = {0}, last_b = {0}, shape_b = {0}, starts_b = {0}, sizes_b = {0}, cjk_b = {0}, header_b = {0},
              date_b = {0}, byline_b = {0}, table_b = {0}, log_b = {0};
    long long terminal_bit, sentence_bit, upper_bit, quote_bit, you_bit, upper_shape, separator_shape, url_shape;
    PyObject *result = NULL, *promo_list = NULL, *phrase_list = NULL, *per_line, *per_page;
    char *work = NULL;
    uint8_t *phrase = NULL;
    /* (The per-line and per-page buffers are taken from their tuples here, not by nested "(y*...)" format
       units: PyArg_ParseTuple sizes its list of buffers to release by the top-level units only.) */
    if (!PyArg_ParseTuple(args, "w*y*O!O!y*y*(LLLLLLLL):line_columns", &m_b, &cols_b, &PyTuple_Type, &per_line,
                          &PyTuple_Type, &per_page, &table_b, &log_b, &terminal_bit, &sentence_bit, &upper_bit,
                          &quote_bit, &you_bit, &upper_shape, &separator_shape, &url_shape))
        return NULL;
    {
        Py_buffer *line_targets[13] = {&words_b, &lengths_b, &caps_b,  &digits_b, &commas_b, &stops_b, &we_b,
                                       &bits_b,  NULL,       &first_b, &last_b,   NULL,      &shape_b};
        Py_buffer *page_targets[6] = {&starts_b, &sizes_b, &cjk_b, &header_b, &date_b, &byline_b};
        if (PyTuple_GET_SIZE(per_line) != 13 || PyTuple_GET_SIZE(per_page) != 6) {
            PyErr_SetString(PyExc_TypeError, "line_columns: 13 per-line and 6 per-page columns expected");
            goto done;
        }
        for (int c = 0; c < 13; c++) {
            PyObject *item = PyTuple_GET_ITEM(per_line, c);
            if (line_targets[c] == NULL) {
                if (!PyList_Check(item)) {
                    PyErr_SetString(PyExc_TypeError, "line_columns: promo and phrase must be lists");
                    goto done;
                }
                if (c == 8)
                    promo_list = item;
                else
                    phrase_list = item;
            }
            else if (PyObject_GetBuffer(item, line_targets[c], PyBUF_SIMPLE) < 0)
                goto done;
        }
        for (int c = 0; c < 6; c++) {
            if (PyObject_GetBuffer(PyTuple_GET_ITEM(per_page, c), page_targets[c], PyBUF_SIMPLE) < 0)
                goto done;
        }
    }

    Py_ssize_t total = words_b.len / 8, pages = starts_b.len / 8, width = 0;
    if (cols_b.len != C_COUNT * 8 || total == 0 || m_b.len % 8 != 0 || (m_b.len / 8) % total != 0
        || table_b.len < 0x110000 || log_b.len < 8 || log_b.len % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "line_columns: inconsistent arguments");
        goto done;
    }
    width = (m_b.len / 8) / total;
    if (check_column(&words_b, total, 8, "words") || check_column(&lengths_b, total, 8, "lengths")
        || check_column(&caps_b, total, 8, "capitalised") || check_column(&digits_b, total, 8, "digits")
        || check_column(&commas_b, total, 8, "commas") || check_column(&stops_b, total, 8, "stopwords")
        || check_column(&we_b, total, 8, "we_words") || check_column(&bits_b, total, 8, "token_bits")
        || check_column(&first_b, total, 4, "first_cp") || check_column(&last_b, total, 4, "last_cp")
        || check_column(&shape_b, total, 1, "shape") || check_column(&sizes_b, pages, 8, "sizes")
        || check_column(&cjk_b, pages, 8, "cjk") || check_column(&header_b, pages, 8, "header_end")
        || check_column(&date_b, pages, 8, "date_index") || check_column(&byline_b, pages, 8, "byline_index"))
        goto done;
    const int64_t *cols = (const int64_t *)cols_b.buf;
    for (int c = 0; c < C_COUNT; c++) {
        if (cols[c] < 0 || cols[c] >= width) {
            PyErr_SetString(PyExc_ValueError, "line_columns: column out of range");
            goto done;
        }
    }
    const int64_t *starts = (const int64_t *)starts_b.buf, *sizes = (const int64_t *)sizes_b.buf;
    {
        Py_ssize_t at = 0;
        for (Py_ssize_t k = 0; k < pages; k++) {
            if (starts[k] != at || sizes[k] <= 0 || sizes[k] > total - at) {
                PyErr_SetString(PyExc_ValueError, "line_columns: pages do not tile the lines");
                goto done;
            }
            at += sizes[k];
        }
        if (at != total) {
            PyErr_SetString(PyExc_ValueError, "line_columns: pages do not tile the lines");
            goto done;
        }
    }
    const int64_t *words = (const int64_t *)words_b.buf, *lengths = (const int64_t *)lengths_b.buf,
                  *caps = (const int64_t *)caps_b.buf, *digits = (const int64_t *)digits_b.buf,
                  *commas = (const int64_t *)commas_b.buf, *stops = (const int64_t *)stops_b.buf,
                  *we = (const int64_t *)we_b.buf, *bits = (const int64_t *)bits_b.buf, *cjk = (const int64_t *)cjk_b.buf,
                  *header = (const int64_t *)header_b.buf, *date_index = (const int64_t *)date_b.buf,
                  *byline_index = (const int64_t *)byline_b.buf;
    const uint32_t *first_cp = (const uint32_t *)first_b.buf, *last_cp = (const uint32_t *)last_b.buf;
    const uint8_t *shape = (const uint8_t *)shape_b.buf, *table = (const uint8_t *)table_b.buf;
    const double *log1p_table = (const double *)log_b.buf;
    Py_ssize_t log_size = log_b.len / 8;
    for (Py_ssize_t i = 0; i < total; i++) {
        if (first_cp[i] >= 0x110000 || last_cp[i] >= 0x110000 || words[i] < 0 || lengths[i] < 0
            || lengths[i] >= log_size || words[i] > lengths[i]) {
            PyErr_SetString(PyExc_ValueError, "line_columns: line values out of range");
            goto done;
        }
    }
    if (total >= log_size) {
        PyErr_SetString(PyExc_ValueError, "line_columns: log1p table too short");
        goto done;
    }
    if (PyList_GET_SIZE(promo_list) != total || PyList_GET_SIZE(phrase_list) != total) {
        PyErr_SetString(PyExc_ValueError, "line_columns: promo or phrase has the wrong size");
        goto done;
    }

    /* Work columns: ew, prose, promo counts, promo value, prose prefix sums (total + 1), first and last
       main line per page. */
    if ((size_t)total > ((size_t)PY_SSIZE_T_MAX / 8 - 2 * (size_t)pages - 1) / 5) {
        PyErr_NoMemory();
        goto done;
    }
    work = (char *)PyMem_Malloc(((size_t)total * 5 + 1 + 2 * (size_t)pages) * 8);
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    phrase = (uint8_t *)PyMem_Malloc((size_t)total);
    if (phrase == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *ew = (int64_t *)work;
    int64_t *prose = ew + total;
    int64_t *promo_counts = prose + total;
    double *promo = (double *)(promo_counts + total);
    /* The lists' items, read before anything is written (reading them runs no Python code for bool and int
       items, but other items are accepted as Python would take them). */
    for (Py_ssize_t i = 0; i < total; i++) {
        if (i >= PyList_GET_SIZE(promo_list) || i >= PyList_GET_SIZE(phrase_list)) {
            PyErr_SetString(PyExc_ValueError, "line_columns: promo or phrase changed size");
            goto done;
        }
        long long count = PyLong_AsLongLong(PyList_GET_ITEM(promo_list, i));
        if (count == -1 && PyErr_Occurred())
            goto done;
        int flag = PyObject_IsTrue(PyList_GET_ITEM(phrase_list, i));
        if (flag < 0)
            goto done;
        phrase[i] = (uint8_t)flag;
        promo_counts[i] = count;
    }
    int64_t *prefix = (int64_t *)(promo + total);
    int64_t *first_main = prefix + total + 1;
    int64_t *last_main = first_main + pages;
    double *m = (double *)m_b.buf;
#define SET(i, c, v) (m[(i) * width + cols[c]] = (double)(v))

    prefix[0] = 0;
    for (Py_ssize_t k = 0; k < pages; k++) {
        Py_ssize_t lo = starts[k], n = sizes[k];
        int64_t longest = 0;
        for (Py_ssize_t i = lo; i < lo + n; i++) {
            int64_t e = words[i];
            if (cjk[k] && lengths[i] / 3 > e)
                e = lengths[i] / 3;
            ew[i] = e;
            int terminal = (table[last_cp[i]] & terminal_bit) != 0;
            prose[i] = e >= 15 || (e >= 5 && terminal);
            if (prose[i] && e > longest)
                longest = e;
            prefix[i + 1] = prefix[i] + prose[i];
            int64_t p = words[i] >= 4 ? promo_counts[i] : 0;
            promo[i] = (double)(p < 3 ? p : 3) / 3.0;
        }
        /* The main run of long paragraphs (see batch_line_features). */
        int64_t half = longest / 2, bar = half > 10 ? half : 10;
        if (bar > 20)
            bar = 20;
        int64_t first_long = total, first_after = total, last_long = -1;
        for (Py_ssize_t i = lo; i < lo + n; i++) {
            if (!(prose[i] && ew[i] >= bar))
                continue;
            int64_t index = i - lo;
            if (first_long == total)
                first_long = index;
            if (first_after == total && index > header[k])
                first_after = index;
            last_long = index;
        }
        first_main[k] = first_after < total ? first_after : first_long < total ? first_long : n;
        last_main[k] = last_long;
    }

    for (Py_ssize_t k = 0; k < pages; k++) {
        Py_ssize_t lo = starts[k], n = sizes[k];
        int64_t head = header[k];
        /* The nearest prose line before each line (in the page), then after it. */
        int64_t before = -1;
        for (Py_ssize_t i = lo; i < lo + n; i++) {
            int64_t index = i - lo;
            int64_t e = ew[i], wc = words[i];
            uint8_t last_class = table[last_cp[i]], first_class = table[first_cp[i]];
            int terminal = (last_class & terminal_bit) != 0;
            double caps_ratio = wc > 0 ? (double)caps[i] / (double)wc : 0.0;
            SET(i, C_BIAS, 1.0);
            SET(i, C_LOG_WORDS, log1p_table[e]);
            SET(i, C_LOG_CHARS, log1p_table[lengths[i]]);
            SET(i, C_TERMINAL, terminal);
            SET(i, C_SENTENCE_END, (last_class & sentence_bit) != 0);
            SET(i, C_LONG15, e >= 15);
            SET(i, C_SHORT3, e <= 3);
            SET(i, C_STARTS_UPPER, (first_class & upper_bit) != 0);
            SET(i, C_STARTS_QUOTE, (first_class & quote_bit) != 0);
            SET(i, C_TITLECASE_RATIO, caps_ratio);
            SET(i, C_DIGIT_RATIO, (double)digits[i] / (double)lengths[i]);
            SET(i, C_PHRASE, phrase[i] != 0);
            SET(i, C_PROMO, promo[i]);
            SET(i, C_YOU, (bits[i] & you_bit) != 0);
            SET(i, C_WE, we[i] >= 2);
            SET(i, C_SEPARATOR, (shape[i] & separator_shape) != 0);
            SET(i, C_URL, (shape[i] & url_shape) != 0);
            SET(i, C_COMMA_RATIO, (double)commas[i] / (double)(wc + 1));
            SET(i, C_STOP_RATIO, wc > 0 ? (double)stops[i] / (double)wc : 0.0);
            SET(i, C_ALL_UPPER, (shape[i] & upper_shape) != 0 && lengths[i] > 3);
            SET(i, C_ENDS_COLON, last_cp[i] == 58);
            SET(i, C_POSITION, (double)index / (double)n);
            SET(i, C_IN_HEADER, index <= head);
            SET(i, C_AFTER_HEADER, index > head && head >= 0);
            SET(i, C_FIRST_AFTER_HEADER, index - 1 == head); /* (index == head + 1, without overflow) */
            SET(i, C_DATE_LIKE, date_index[k] >= 0 && llabs(index - date_index[k]) <= 1);
            SET(i, C_BYLINE_LIKE, byline_index[k] >= 0 && index == byline_index[k]);
            SET(i, C_BEFORE_MAIN, index < first_main[k]);
            SET(i, C_AFTER_MAIN, index > last_main[k]);
            SET(i, C_IN_MAIN, index >= first_main[k] && index <= last_main[k]);
            for (int r = 0; r < 2; r++) {
                int64_t radius = r == 0 ? 3 : 8;
                int64_t wlo = index - radius > 0 ? index - radius : 0;
                int64_t whi = index + radius + 1 < n ? index + radius + 1 : n;
                SET(i, r == 0 ? C_DENS3 : C_DENS8,
                    (double)(prefix[lo + whi] - prefix[lo + wlo]) / (double)(whi - wlo));
            }
            SET(i, C_PREV_PROSE, index > 0 ? (double)prose[i - 1] : 0.0);
            SET(i, C_NEXT_PROSE, index + 1 < n ? (double)prose[i + 1] : 0.0);
            SET(i, C_PREV_WORDS, index > 0 ? log1p_table[ew[i - 1]] : 0.0);
            SET(i, C_NEXT_WORDS, index + 1 < n ? log1p_table[ew[i + 1]] : 0.0);
            SET(i, C_HEADLINEISH, wc > 0 && wc >= 3 && wc <= 14 && !terminal && caps_ratio >= 0.6);
            double near = 0.0;
            for (int64_t shift = -2; shift <= 2; shift++) {
                if (index + shift >= 0 && index + shift < n && promo[i + shift] > near)
                    near = promo[i + shift];
            }
            SET(i, C_PROMO_NEAR, near);
            if (prose[i])
                before = index;
            /* gap_to_prose, first from the side before (a page without prose before the line counts the
               distance to a line n before its start) */
            int64_t gap = before >= 0 ? index - before : index + n;
            SET(i, C_GAP_TO_PROSE, gap); /* finished below */
        }
        int64_t after = -1;
        for (Py_ssize_t i = lo + n - 1; i >= lo; i--) {
            int64_t index = i - lo;
            if (prose[i])
                after = index;
            int64_t gap = (int64_t)m[i * width + cols[C_GAP_TO_PROSE]];
            int64_t other = after >= 0 ? after - index : 2 * n - index;
            if (other < gap)
                gap = other;
            SET(i, C_GAP_TO_PROSE, (double)(gap < 10 ? gap : 10) / 10.0);
        }
        /* Runs of consecutive non-prose lines. */
        for (Py_ssize_t i = lo; i < lo + n;) {
            Py_ssize_t j = i + 1;
            while (j < lo + n && prose[j] == prose[i])
                j++;
            int64_t run = j - i;
            int flanked = !prose[i] && i > lo && j < lo + n && run <= 12;
            for (Py_ssize_t t = i; t < j; t++) {
                SET(t, C_RUN_SHORT, prose[i] ? 0.0 : log1p_table[run]);
                SET(t, C_RUN_FLANKED, flanked);
            }
            i = j;
        }
    }
#undef SET

    /* ew and each page's first main line, for the regex-gated columns the caller computes. */
    result = Py_BuildValue("(NN)", bytearray_of(ew, total * 8), bytearray_of(first_main, pages * 8));

done:
    PyMem_Free(work);
    PyMem_Free(phrase);
    PyBuffer_Release(&m_b);
    PyBuffer_Release(&cols_b);
    PyBuffer_Release(&words_b);
    PyBuffer_Release(&lengths_b);
    PyBuffer_Release(&caps_b);
    PyBuffer_Release(&digits_b);
    PyBuffer_Release(&commas_b);
    PyBuffer_Release(&stops_b);
    PyBuffer_Release(&we_b);
    PyBuffer_Release(&bits_b);
    PyBuffer_Release(&first_b);
    PyBuffer_Release(&last_b);
    PyBuffer_Release(&shape_b);
    PyBuffer_Release(&starts_b);
    PyBuffer_Release(&sizes_b);
    PyBuffer_Release(&cjk_b);
    PyBuffer_Release(&header_b);
    PyBuffer_Release(&date_b);
    PyBuffer_Release(&byline_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&log_b);
    return result;
}


/* ------------------------------------------------------------------------------------------------ */
/* window_means: linemodel._page_context's running-sum window means                                  */

static PyObject *
window_means(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer p_b = {0}, starts_b = {0}, sizes_b = {0}, out_b = {0};
    Py_ssize_t width, column, radius;
    PyObject *result = NULL;
    double *cumulative = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*w*nnn:window_means", &p_b, &starts_b, &sizes_b, &out_b, &width, &column,
                          &radius))
        return NULL;
    Py_ssize_t total = p_b.len / 8, pages = starts_b.len / 8;
    const double *p = (const double *)p_b.buf;
    const int64_t *starts = (const int64_t *)starts_b.buf, *sizes = (const int64_t *)sizes_b.buf;
    double *out = (double *)out_b.buf;
    if (p_b.len % 8 != 0 || starts_b.len % 8 != 0 || sizes_b.len != starts_b.len || width <= 0 || column < 0
        || column >= width || radius < 0 || radius > 5 || out_b.len % 8 != 0 || out_b.len / 8 / width != total
        || (out_b.len / 8) % width != 0) {
        PyErr_SetString(PyExc_ValueError, "window_means: inconsistent arguments");
        goto done;
    }
    Py_ssize_t largest = 0;
    for (Py_ssize_t k = 0; k < pages; k++) {
        if (starts[k] < 0 || sizes[k] < 0 || starts[k] > total || sizes[k] > total - starts[k]) {
            PyErr_SetString(PyExc_ValueError, "window_means: page out of range");
            goto done;
        }
        if (sizes[k] > largest)
            largest = sizes[k];
    }
    /* Each page padded with five zeros on either side as the numpy code pads it, summed left to right. */
    cumulative = (double *)PyMem_Malloc(((size_t)largest + 11) * sizeof(double));
    if (cumulative == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < pages; k++) {
        Py_ssize_t lo = starts[k], n = sizes[k];
        /* cumulative[j] = sum of padded[0:j], padded = 5 zeros, the page, 5 zeros */
        double sum = 0.0;
        cumulative[0] = 0.0;
        for (Py_ssize_t j = 0; j < n + 10; j++) {
            double value = (j >= 5 && j < 5 + n) ? p[lo + j - 5] : 0.0;
            sum += value;
            cumulative[j + 1] = sum;
        }
        Py_ssize_t r = radius;
        double count = (double)(2 * r + 1);
        for (Py_ssize_t i = 0; i < n; i++)
            out[(lo + i) * width + column] = (cumulative[5 + r + 1 + i] - cumulative[5 - r + i]) / count;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(cumulative);
    PyBuffer_Release(&p_b);
    PyBuffer_Release(&starts_b);
    PyBuffer_Release(&sizes_b);
    PyBuffer_Release(&out_b);
    return result;
}


/* ------------------------------------------------------------------------------------------------ */
/* phrase_starts: the tokens where pagetext._phrase_flags tries the phrase regex                      */

#define MAX_KEY_TABLES 16

/* A pagetext._KeyTable: value of key = values[slot] if keys[slot] == key else 0, slot = key * multiplier >> shift. */
typedef struct {
    Py_buffer keys_b, values_b;
    const uint64_t *keys;
    const int64_t *values;
    uint64_t multiplier;
    unsigned shift;
    int size; /* prefix size in characters (tables of beginnings), or -1 */
} KeyTable;

static int
key_table_from(PyObject *spec, KeyTable *table, int with_size)
{
    unsigned long long multiplier, shift;
    int size = -1;
    memset(table, 0, sizeof(*table));
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "key table: a tuple expected");
        return -1;
    }
    if (with_size && !PyArg_ParseTuple(spec, "iO!:key table", &size, &PyTuple_Type, &spec))
        return -1;
    /* (no buffer in a nested format unit: see line_columns) */
    if (!PyArg_ParseTuple(spec, "KKy*y*:key table", &multiplier, &shift, &table->keys_b, &table->values_b))
        return -1;
    Py_ssize_t slots = table->keys_b.len / 8;
    if (table->keys_b.len % 8 != 0 || table->values_b.len != table->keys_b.len || shift < 1 || shift >= 64
        || ((uint64_t)1 << (64 - shift)) != (uint64_t)slots || (with_size && (size < 0 || size > KEY_CHARS))) {
        PyBuffer_Release(&table->keys_b);
        PyBuffer_Release(&table->values_b);
        PyErr_SetString(PyExc_ValueError, "inconsistent key table");
        return -1;
    }
    table->keys = (const uint64_t *)table->keys_b.buf;
    table->values = (const int64_t *)table->values_b.buf;
    table->multiplier = multiplier;
    table->shift = (unsigned)shift;
    table->size = size;
    return 0;
}

static inline int64_t
key_lookup(const KeyTable *table, uint64_t key)
{
    uint64_t slot = (key * table->multiplier) >> table->shift; /* < number of slots: checked */
    return table->keys[slot] == key ? table->values[slot] : 0;
}

static inline uint64_t
prefix_mask(int size)
{
    return size >= 8 ? UINT64_MAX : (((uint64_t)1 << (8 * size)) - 1);
}

static PyObject *
phrase_starts(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer gate_b = {0}, line_b = {0}, key_b = {0}, length_b = {0}, bits_b = {0}, class_b = {0};
    PyObject *firsts_spec, *seconds_spec, *beginnings_spec, *result = NULL;
    long long phrase_start_bit, digit_bit;
    int digit_start;
    KeyTable tables[MAX_KEY_TABLES];
    int loaded = 0;
    int64_t *found = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*OO!O!LpL:phrase_starts", &gate_b, &line_b, &key_b, &length_b, &bits_b,
                          &class_b, &firsts_spec, &PyTuple_Type, &seconds_spec, &PyTuple_Type, &beginnings_spec,
                          &phrase_start_bit, &digit_start, &digit_bit))
        return NULL;
    Py_ssize_t n = gate_b.len, count = line_b.len / 8;
    Py_ssize_t seconds = PyTuple_GET_SIZE(seconds_spec), beginnings = PyTuple_GET_SIZE(beginnings_spec);
    if (line_b.len % 8 != 0 || key_b.len != line_b.len || length_b.len != line_b.len || bits_b.len != line_b.len
        || class_b.len != count || 1 + seconds + beginnings > MAX_KEY_TABLES) {
        PyErr_SetString(PyExc_ValueError, "phrase_starts: inconsistent arguments");
        goto done;
    }
    if (key_table_from(firsts_spec, &tables[0], 0) < 0)
        goto done;
    loaded = 1;
    for (Py_ssize_t k = 0; k < seconds + beginnings; k++) {
        PyObject *spec = k < seconds ? PyTuple_GET_ITEM(seconds_spec, k) : PyTuple_GET_ITEM(beginnings_spec, k - seconds);
        if (key_table_from(spec, &tables[loaded], 1) < 0)
            goto done;
        loaded++;
    }
    const uint8_t *gate = (const uint8_t *)gate_b.buf, *first_class = (const uint8_t *)class_b.buf;
    const int64_t *line = (const int64_t *)line_b.buf, *length = (const int64_t *)length_b.buf,
                  *bits = (const int64_t *)bits_b.buf;
    const uint64_t *key = (const uint64_t *)key_b.buf;
    found = (int64_t *)PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof(int64_t));
    if (found == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const KeyTable *firsts = &tables[0], *second_tables = &tables[1], *beginning_tables = &tables[1 + seconds];
    Py_ssize_t used = 0;
    for (Py_ssize_t t = 0; t < count; t++) {
        if (line[t] < 0 || line[t] >= n || length[t] < 0) {
            PyErr_SetString(PyExc_ValueError, "phrase_starts: token out of range");
            goto done;
        }
        if (!gate[line[t]])
            continue;
        int possible = 0;
        if (bits[t] & phrase_start_bit) {
            /* pagetext._second_word_fits */
            uint64_t capped = (uint64_t)(length[t] < MAX_KEY_LENGTH ? length[t] : MAX_KEY_LENGTH);
            int64_t number = key_lookup(firsts, key[t] | (capped << LENGTH_SHIFT));
            if (number == 0)
                possible = 1;
            else if (t + 1 < count && line[t + 1] == line[t]) {
                uint64_t tag = (uint64_t)number << LENGTH_SHIFT;
                for (Py_ssize_t k = 0; k < seconds && !possible; k++) {
                    const KeyTable *table = &second_tables[k];
                    possible = key_lookup(table, tag | (key[t + 1] & prefix_mask(table->size))) != 0
                               && length[t + 1] >= table->size;
                }
            }
        }
        for (Py_ssize_t k = 0; k < beginnings && !possible; k++) {
            const KeyTable *table = &beginning_tables[k];
            possible = key_lookup(table, key[t] & prefix_mask(table->size)) != 0 && length[t] >= table->size;
        }
        if (!possible && digit_start && (first_class[t] & digit_bit))
            possible = 1;
        if (possible)
            found[used++] = t;
    }
    result = bytearray_of(found, used * 8);
done:
    PyMem_Free(found);
    for (int k = 0; k < loaded; k++) {
        PyBuffer_Release(&tables[k].keys_b);
        PyBuffer_Release(&tables[k].values_b);
    }
    PyBuffer_Release(&gate_b);
    PyBuffer_Release(&line_b);
    PyBuffer_Release(&key_b);
    PyBuffer_Release(&length_b);
    PyBuffer_Release(&bits_b);
    PyBuffer_Release(&class_b);
    return result;
}


/* ------------------------------------------------------------------------------------------------ */
/* count_classes                                                                                     */

static PyObject *
count_classes(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    Py_ssize_t limit;
    Py_buffer table_b = {0};
    unsigned char mask, value;
    if (!PyArg_ParseTuple(args, "Uny*bb:count_classes", &text, &limit, &table_b, &mask, &value))
        return NULL;
    if (table_b.len < 0x110000) {
        PyBuffer_Release(&table_b);
        PyErr_SetString(PyExc_ValueError, "count_classes: table too short");
        return NULL;
    }
    const uint8_t *table = (const uint8_t *)table_b.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit < n)
        n = limit < 0 ? 0 : limit;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        count += (table[PyUnicode_READ(kind, data, i)] & mask) == value;
    PyBuffer_Release(&table_b);
    return PyLong_FromSsize_t(count);
}


/* ------------------------------------------------------------------------------------------------ */
/* str_lengths                                                                                       */

static PyObject *
str_lengths(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *items;
    if (!PyArg_ParseTuple(args, "O!:str_lengths", &PyList_Type, &items))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(items);
    PyObject *result = PyByteArray_FromStringAndSize(NULL, n * 8);
    if (result == NULL)
        return NULL;
    int64_t *out = (int64_t *)PyByteArray_AS_STRING(result);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyUnicode_Check(item)) {
            Py_DECREF(result);
            PyErr_SetString(PyExc_TypeError, "str_lengths: items must be str");
            return NULL;
        }
        out[i] = PyUnicode_GET_LENGTH(item);
    }
    return result;
}


/* ------------------------------------------------------------------------------------------------ */
/* caption_lines: linemodel._CAPTION_LOWER_RE.search on lower-cased lines                            */

/* Does the word (ASCII) start at q[at] inside q[0:length]? */
static inline int
word_at(const void *q, size_t width, Py_ssize_t at, Py_ssize_t length, const char *word)
{
    Py_ssize_t size = (Py_ssize_t)strlen(word);
    if (at < 0 || at > length - size)
        return 0;
    for (Py_ssize_t m = 0; m < size; m++) {
        if (char_at(q, width, at + m) != (Py_UCS4)(unsigned char)word[m])
            return 0;
    }
    return 1;
}

/* \b after a word (its last character a word character): q[at] is the end or a non-word character. */
static inline int
ends_word(const uint8_t *table, const void *q, size_t width, Py_ssize_t at, Py_ssize_t length)
{
    return at >= length || (table[char_at(q, width, at)] & WORD_CHAR) == 0;
}

/* \b before a word (its first character a word character): q[at] is the start or follows a non-word one. */
static inline int
starts_word(const uint8_t *table, const void *q, size_t width, Py_ssize_t at)
{
    return at == 0 || (table[char_at(q, width, at - 1)] & WORD_CHAR) == 0;
}

static const char *const CAPTION_PAREN[] = {"image", "photo", "picture", "pic", "credit", "video", "source", "file"};
static const char *const CAPTION_LABEL[] = {"image", "photo", "picture"};
static const char *const CAPTION_AGENCY[] = {"getty", "afp", "reuters", "ap photo", "shutterstock", "istock", "epa"};
static const char *const CAPTION_SLASH[] = {"getty", "afp", "reuters", "ap"};
#define COUNT_OF(a) ((Py_ssize_t)(sizeof(a) / sizeof((a)[0])))

/* \((?:image|photo|picture|pic|credit|video|source|file)\b|\b(?:image|photo|picture)s?:|
   \b(?:getty|afp|reuters|ap photo|shutterstock|istock|epa)\b|/\s*(?:getty|afp|reuters|ap)\b
   searched in q[0:length] (no IGNORECASE: the line is lower-cased). */
static int
caption_search(const uint8_t *table, const void *q, size_t width, Py_ssize_t length)
{
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = char_at(q, width, i);
        if (c == '(') {
            for (Py_ssize_t w = 0; w < COUNT_OF(CAPTION_PAREN); w++) {
                const char *word = CAPTION_PAREN[w];
                if (word_at(q, width, i + 1, length, word)
                    && ends_word(table, q, width, i + 1 + (Py_ssize_t)strlen(word), length))
                    return 1;
            }
        }
        else if (c == '/') {
            Py_ssize_t j = i + 1;
            while (j < length && Py_UNICODE_ISSPACE(char_at(q, width, j)))
                j++;
            for (Py_ssize_t w = 0; w < COUNT_OF(CAPTION_SLASH); w++) {
                const char *word = CAPTION_SLASH[w];
                if (word_at(q, width, j, length, word) && ends_word(table, q, width, j + (Py_ssize_t)strlen(word), length))
                    return 1;
            }
        }
        else if ((c == 'i' || c == 'p' || c == 'g' || c == 'a' || c == 'r' || c == 's' || c == 'e')
                 && starts_word(table, q, width, i)) {
            for (Py_ssize_t w = 0; w < COUNT_OF(CAPTION_LABEL); w++) {
                const char *word = CAPTION_LABEL[w];
                Py_ssize_t j = i + (Py_ssize_t)strlen(word);
                if (word_at(q, width, i, length, word)
                    && ((j < length && char_at(q, width, j) == ':')
                        || (j + 1 < length && char_at(q, width, j) == 's' && char_at(q, width, j + 1) == ':')))
                    return 1;
            }
            for (Py_ssize_t w = 0; w < COUNT_OF(CAPTION_AGENCY); w++) {
                const char *word = CAPTION_AGENCY[w];
                if (word_at(q, width, i, length, word) && ends_word(table, q, width, i + (Py_ssize_t)strlen(word), length))
                    return 1;
            }
        }
    }
    return 0;
}

static PyObject *
caption_lines(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *lines, *result = NULL;
    Py_buffer candidates_b = {0}, table_b = {0};
    if (!PyArg_ParseTuple(args, "O!y*y*:caption_lines", &PyList_Type, &lines, &candidates_b, &table_b))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lines), count = candidates_b.len / 8;
    const int64_t *candidates = (const int64_t *)candidates_b.buf;
    const uint8_t *table = (const uint8_t *)table_b.buf;
    if (candidates_b.len % 8 != 0 || table_b.len < 0x110000) {
        PyErr_SetString(PyExc_ValueError, "caption_lines: inconsistent arguments");
        goto done;
    }
    result = PyByteArray_FromStringAndSize(NULL, n);
    if (result == NULL)
        goto done;
    char *flags = PyByteArray_AS_STRING(result);
    if (n > 0)
        memset(flags, 0, (size_t)n);
    for (Py_ssize_t k = 0; k < count; k++) {
        int64_t i = candidates[k];
        if (i < 0 || i >= n || i >= PyList_GET_SIZE(lines)) {
            PyErr_SetString(PyExc_ValueError, "caption_lines: line index out of range");
            Py_CLEAR(result);
            goto done;
        }
        PyObject *line = PyList_GET_ITEM(lines, i);
        if (!PyUnicode_Check(line)) {
            PyErr_SetString(PyExc_TypeError, "caption_lines: lines must be str");
            Py_CLEAR(result);
            goto done;
        }
        flags[i] = (char)caption_search(table, PyUnicode_DATA(line), (size_t)PyUnicode_KIND(line),
                                        PyUnicode_GET_LENGTH(line));
    }
done:
    PyBuffer_Release(&candidates_b);
    PyBuffer_Release(&table_b);
    return result;
}

/* ------------------------------------------------------------------------------------------------ */
/* repeated lines                                                                                    */

/* Per-process seed of the line hash (from str's own randomised hash, set at import), so that which lines
   collide in the table below cannot be known in advance. */
static uint64_t line_hash_seed = 0x9E3779B97F4A7C15u;

/* A hash of a str's code units (equal strs have the same kind and the same units). */
static uint64_t
line_hash(PyObject *line)
{
    const unsigned char *data = (const unsigned char *)PyUnicode_DATA(line);
    size_t size = (size_t)PyUnicode_GET_LENGTH(line) * (size_t)PyUnicode_KIND(line);
    uint64_t h = line_hash_seed ^ ((uint64_t)size * 0xC2B2AE3D27D4EB4Fu);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t chunk;
        memcpy(&chunk, data + i, 8);
        h = (h ^ chunk) * 0x9E3779B97F4A7C15u;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    if (i < size)
        memcpy(&tail, data + i, size - i);
    h = (h ^ tail ^ (uint64_t)PyUnicode_KIND(line)) * 0xD6E8FEB86659FD93u;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93u;
    h ^= h >> 29;
    return h;
}

static int
same_line(PyObject *a, PyObject *b)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(a);
    return n == PyUnicode_GET_LENGTH(b) && PyUnicode_KIND(a) == PyUnicode_KIND(b)
           && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)n * (size_t)PyUnicode_KIND(a)) == 0;
}

static PyObject *
repeated_lines(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *lines, *bounds, *result = NULL;
    Py_ssize_t *slots = NULL;
    uint64_t *hashes = NULL;
    if (!PyArg_ParseTuple(args, "O!O!:repeated_lines", &PyList_Type, &lines, &PyList_Type, &bounds))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lines), pages = PyList_GET_SIZE(bounds) - 1;
    result = PyByteArray_FromStringAndSize(NULL, n);
    if (result == NULL)
        return NULL;
    char *flags = PyByteArray_AS_STRING(result);
    if (n > 0)
        memset(flags, 0, (size_t)n);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(PyList_GET_ITEM(lines, i))) {
            PyErr_SetString(PyExc_TypeError, "repeated_lines: lines must be str");
            goto fail;
        }
    }
    /* One table of line indices (-1: free) with at least twice as many slots as the largest page has lines. */
    Py_ssize_t previous = 0, largest = 0;
    for (Py_ssize_t k = 0; k < pages; k++) {
        Py_ssize_t lo = PyLong_AsSsize_t(PyList_GET_ITEM(bounds, k));
        if (lo == -1 && PyErr_Occurred())
            goto fail;
        Py_ssize_t hi = PyLong_AsSsize_t(PyList_GET_ITEM(bounds, k + 1));
        if (hi == -1 && PyErr_Occurred())
            goto fail;
        if (lo < previous || hi < lo || hi > n) {
            PyErr_SetString(PyExc_ValueError, "repeated_lines: bounds out of order or out of range");
            goto fail;
        }
        previous = hi;
        if (hi - lo > largest)
            largest = hi - lo;
    }
    size_t size = 16;
    while (size < 2 * (size_t)largest)
        size *= 2;
    slots = (Py_ssize_t *)PyMem_Malloc(size * sizeof(Py_ssize_t));
    hashes = (uint64_t *)PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(uint64_t));
    if (slots == NULL || hashes == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < pages; k++) {
        /* (checked above; the list cannot have changed: no Python code ran since) */
        Py_ssize_t lo = PyLong_AsSsize_t(PyList_GET_ITEM(bounds, k));
        Py_ssize_t hi = PyLong_AsSsize_t(PyList_GET_ITEM(bounds, k + 1));
        if (hi - lo < 2)
            continue;
        size_t mask = 1;
        while (mask < 2 * (size_t)(hi - lo))
            mask *= 2;
        mask -= 1;
        /* First by length alone: equal lines have equal lengths, and most lines of a page have a length no
           other line has, so only the others (flagged with 2 here) need their characters hashed below. */
        for (size_t j = 0; j <= mask; j++)
            slots[j] = -1;
        int same_length = 0;
        for (Py_ssize_t i = lo; i < hi; i++) {
            Py_ssize_t length = PyUnicode_GET_LENGTH(PyList_GET_ITEM(lines, i));
            uint64_t h = ((uint64_t)length ^ line_hash_seed) * 0xD6E8FEB86659FD93u;
            size_t j = (size_t)(h ^ (h >> 32)) & mask;
            while (slots[j] >= 0) {
                Py_ssize_t other = slots[j];
                if (PyUnicode_GET_LENGTH(PyList_GET_ITEM(lines, other)) == length) {
                    same_length = 1;
                    flags[other] = 2;
                    flags[i] = 2;
                    break;
                }
                j = (j + 1) & mask;
            }
            if (slots[j] < 0)
                slots[j] = i;
        }
        if (same_length == 0)
            continue;
        for (size_t j = 0; j <= mask; j++)
            slots[j] = -1;
        for (Py_ssize_t i = lo; i < hi; i++) {
            if (flags[i] == 0)
                continue;
            flags[i] = 0; /* (set again below when the line is repeated; an earlier line's flag is 1 or 0 by now) */
            PyObject *line = PyList_GET_ITEM(lines, i);
            uint64_t h = hashes[i] = line_hash(line);
            size_t j = (size_t)(h & mask);
            /* Linear probing in a table at most half full: a free slot is always reached. */
            while (slots[j] >= 0) {
                Py_ssize_t other = slots[j];
                if (hashes[other] == h && same_line(PyList_GET_ITEM(lines, other), line)) {
                    flags[other] = 1;
                    flags[i] = 1;
                    break;
                }
                j = (j + 1) & mask;
            }
            if (slots[j] < 0)
                slots[j] = i;
        }
    }
    PyMem_Free(slots);
    PyMem_Free(hashes);
    return result;
fail:
    PyMem_Free(slots);
    PyMem_Free(hashes);
    Py_DECREF(result);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"has_control_chars", has_control_chars, METH_VARARGS,
     "has_control_chars(text) -> bool: text holds a character plaintext._CONTROL_RE removes."},
    {"split_clean_lines", split_clean_lines, METH_VARARGS,
     "split_clean_lines(text, limit) -> list[str]: the non-empty stripped lines (at most limit) of a text "
     "without control characters, split at \\r\\n, \\r, \\n, U+2028 and U+2029."},
    {"count_odd_chars", count_odd_chars, METH_VARARGS,
     "count_odd_chars(text, limit) -> int: characters extract._ODD_CHAR_RE matches in text[:limit]."},
    {"lower_text", lower_text, METH_VARARGS,
     "lower_text(text) -> str: text.lower(), quicker on texts that are nearly all ASCII."},
    {"sample_spaces", sample_spaces, METH_VARARGS,
     "sample_spaces(lines, max_lines, max_chars) -> (spaces, length) of \"\".join(lines[:max_lines])[:max_chars]."},
    {"scan_page", scan_page, METH_VARARGS,
     "scan_page(...) -> tuple of bytearrays: the per-line counts and per-token keys of pagetext._whole_text."},
    {"line_columns", line_columns, METH_VARARGS,
     "line_columns(m, cols, per_line, per_page, table, log1p, bits) -> (ew, first_main): the numeric columns of "
     "linemodel.batch_line_features, into m."},
    {"window_means", window_means, METH_VARARGS,
     "window_means(p, starts, sizes, out, width, column, radius): each page's window means of p (radius lines on "
     "either side, zeros past the page) into column `column` of out (rows of `width` float64)."},
    {"phrase_starts", phrase_starts, METH_VARARGS,
     "phrase_starts(gate, line, key, length, bits, first_class, firsts, seconds, beginnings, phrase_start, "
     "digit_start, digit_bit) -> bytearray of int64: the tokens of gated lines where the phrase regex can start."},
    {"count_classes", count_classes, METH_VARARGS,
     "count_classes(text, limit, table, mask, value) -> int: characters c of text[:limit] with "
     "table[ord(c)] & mask == value."},
    {"str_lengths", str_lengths, METH_VARARGS,
     "str_lengths(items) -> bytearray of int64: len() of every str of a list."},
    {"caption_lines", caption_lines, METH_VARARGS,
     "caption_lines(lower_lines, candidates, table) -> bytearray: 1 for each candidate line where "
     "linemodel._CAPTION_LOWER_RE finds something."},
    {"repeated_lines", repeated_lines, METH_VARARGS,
     "repeated_lines(lines, bounds) -> bytearray: 1 for each line that occurs more than once in its page (page k "
     "is lines[bounds[k]:bounds[k + 1]])."},
    {"walk_features", walk_features, METH_VARARGS,
     "walk_features(data, sizes, nextmove, rowbase, output, width, depth) -> (features, counts, cuts)."},
    {"feature_scores", feature_scores, METH_VARARGS,
     "feature_scores(keys, values, cuts, weights, classes, half) -> bytearray of float32: per sample k, the sum "
     "over its entries i (cuts[k] <= i < cuts[k + 1], in ascending key order) of values[i] * weights[keys[i]]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Native helpers for the plain-text cleaning path.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *salt = PyUnicode_FromString("wirestream repeated lines");
    if (salt == NULL)
        return NULL;
    Py_hash_t hash = PyObject_Hash(salt);
    Py_DECREF(salt);
    if (hash == -1 && PyErr_Occurred())
        return NULL;
    line_hash_seed ^= (uint64_t)hash;
    return PyModule_Create(&module);
}
