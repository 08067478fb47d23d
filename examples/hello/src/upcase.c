#include "hello.h"

#include <ctype.h>

char *hello_upcase(char *s) {
  for (char *p = s; *p != '\0'; p++) {
    *p = (char) toupper((unsigned char) *p);
  }
  return s;
}
