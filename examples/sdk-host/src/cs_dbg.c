#include "common/cs_dbg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum cs_log_level s_level = LL_INFO;

void cs_log_set_level(enum cs_log_level level) {
  s_level = level;
}

enum cs_log_level cs_log_get_level(void) {
  return s_level;
}

int cs_log_begin(enum cs_log_level level, const char *file, int line) {
  if (level > s_level || level == LL_NONE) return 0;
  const char *base = strrchr(file, '/');
  fprintf(stderr, "%s:%d ", base != NULL ? base + 1 : file, line);
  return 1;
}

void cs_log_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}
