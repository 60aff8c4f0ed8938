/* Helpers the producer and the consumer share: N-API argument checks and errors. */
#ifndef MARKETFLOW_KAFKA_BATCH_COMMON_H
#define MARKETFLOW_KAFKA_BATCH_COMMON_H

#include <node_api.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rdkafka.h"

#define NAPI_OK(env, call)        \
  do {                            \
    if ((call) != napi_ok) {      \
      throw_last(env, #call);     \
      return NULL;                \
    }                             \
  } while (0)

/* Throws N-API's last error unless an exception is already pending. */
void throw_last(napi_env env, const char* what);
/* An Error carrying librdkafka's code, like the binding's errors (errors.ts reads `code`). */
napi_value kafka_error(napi_env env, int32_t code, const char* message);
void throw_kafka(napi_env env, int code, const char* message);
/* A JS value as a malloc'd UTF-8 string (NULL on failure). */
char* string_of(napi_env env, napi_value v);
int buffer_of(napi_env env, napi_value v, const uint8_t** data, size_t* len);
int int32s_of(napi_env env, napi_value v, const int32_t** data, size_t* len);
/* Sets every property of a JS object (values as strings) on conf; throws and returns 0 on a bad one. */
int conf_from_object(napi_env env, napi_value object, rd_kafka_conf_t* conf, const char* what);

/* A queue's readable signal (rd_kafka_queue_cb_event_enable): calls f with no
 * data unless a call is already on its way (*pending set). The receiver clears
 * *pending before it polls, so what arrives after that poll signals anew.
 * Safe on librdkafka's threads with the queue lock held: no librdkafka call. */
void signal_once(atomic_int* pending, napi_threadsafe_function f);

#endif
