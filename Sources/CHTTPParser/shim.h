#ifndef RUMOR_CHTTPPARSER_SHIM_H
#define RUMOR_CHTTPPARSER_SHIM_H
#include <http_parser.h>

/* http_parser keeps its error and method in bit-fields; these accessors keep Swift away from them. */
static inline unsigned int rumor_http_errno(const http_parser *parser) { return parser->http_errno; }
static inline unsigned int rumor_http_method(const http_parser *parser) { return parser->method; }
#endif
