/*
 * Logging for the host SDK: LOG(level, (fmt, args...)) prints one line to
 * stderr when level is at or below the current log level.
 */
#ifndef CS_DBG_H_
#define CS_DBG_H_

#ifdef __cplusplus
extern "C" {
#endif

enum cs_log_level {
  LL_NONE = -1,
  LL_ERROR = 0,
  LL_WARN = 1,
  LL_INFO = 2,
  LL_DEBUG = 3,
  LL_VERBOSE_DEBUG = 4,
};

/* Sets the level; messages above it are dropped. The default is LL_INFO. */
void cs_log_set_level(enum cs_log_level level);
enum cs_log_level cs_log_get_level(void);

/* Used by LOG: the first prints "<file>:<line> " and says whether to go on. */
int cs_log_begin(enum cs_log_level level, const char *file, int line);
void cs_log_printf(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#define LOG(level, args)                                \
  do {                                                  \
    if (cs_log_begin((level), __FILE__, __LINE__)) {    \
      cs_log_printf args;                               \
    }                                                   \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif /* CS_DBG_H_ */
