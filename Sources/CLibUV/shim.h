#ifndef RUMOR_CLIBUV_SHIM_H
#define RUMOR_CLIBUV_SHIM_H
#include <uv.h>
#endif
