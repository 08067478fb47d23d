#include "greeting.h"

#include <stdio.h>

#include "mgos.h"
#include "mgos_core.h"

static const char *s_word = NULL;

bool mgos_greeting_init(void) {
  if (!mgos_core_is_up()) {
    LOG(LL_ERROR, ("greeting: core is not initialised yet"));
    return false;
  }
  s_word = mgos_sys_config_get_greeting_word();
  if (s_word == NULL || s_word[0] == '\0') s_word = "Hi";
  LOG(LL_DEBUG, ("greeting: word is %s", s_word));
  return true;
}

bool greeting_is_ready(void) {
  return s_word != NULL;
}

int greeting_format(char *buf, size_t len, const char *name) {
  return snprintf(buf, len, "%s, %s!", s_word ? s_word : "Hi", name);
}
