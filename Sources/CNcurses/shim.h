#ifndef FFC_CNCURSES_SHIM_H
#define FFC_CNCURSES_SHIM_H
/* SwiftPM drops ncursesw's pkg-config -D flags, so switch the wide API on here. */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

/* C mutable globals are rejected by Swift 6; read them through accessors. */
static inline WINDOW *ffc_stdscr(void) { return stdscr; }
static inline int ffc_lines(void) { return LINES; }
static inline int ffc_cols(void) { return COLS; }
static inline int ffc_color_pairs(void) { return COLOR_PAIRS; }
static inline int ffc_colors(void) { return COLORS; }
static inline void ffc_getmaxyx(WINDOW *w, int *y, int *x) { int yy, xx; getmaxyx(w, yy, xx); *y = yy; *x = xx; }

/* Attribute macros expand to casts, which Swift does not import. */
static inline attr_t ffc_A_NORMAL(void) { return A_NORMAL; }
static inline attr_t ffc_A_BOLD(void) { return A_BOLD; }
static inline attr_t ffc_A_DIM(void) { return A_DIM; }
static inline attr_t ffc_A_REVERSE(void) { return A_REVERSE; }
static inline attr_t ffc_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t ffc_COLOR_PAIR(int n) { return (attr_t)COLOR_PAIR(n); }
static inline int ffc_KEY_F(int n) { return KEY_F(n); }

/* Line characters index acs_map[], valid only after newterm. */
static inline chtype ffc_ACS_ULCORNER(void) { return ACS_ULCORNER; }
static inline chtype ffc_ACS_URCORNER(void) { return ACS_URCORNER; }
static inline chtype ffc_ACS_LLCORNER(void) { return ACS_LLCORNER; }
static inline chtype ffc_ACS_LRCORNER(void) { return ACS_LRCORNER; }
static inline chtype ffc_ACS_HLINE(void) { return ACS_HLINE; }
static inline chtype ffc_ACS_VLINE(void) { return ACS_VLINE; }

/* One wide character with attributes and a colour pair. */
static inline int ffc_mvwadd_wchar(WINDOW *w, int y, int x, wchar_t ch, attr_t attrs, short pair) {
    cchar_t cc;
    wchar_t s[2] = { ch, 0 };
    if (setcchar(&cc, s, attrs, pair, NULL) == ERR) return ERR;
    return mvwadd_wch(w, y, x, &cc);
}
#endif
