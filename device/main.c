/* cleave-device (placeholder until the CLI lands). */
#include <stdio.h>

#include "cleave/model.h"

int main(void) {
  printf("cleave-device %s\n", cl_version());
  return 0;
}
