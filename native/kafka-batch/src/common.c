#include "common.h"

#include <stdio.h>
#include <stdlib.h>

void throw_last(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  char msg[256];
  snprintf(msg, sizeof msg, "kafka-batch: %s failed: %s", what,
           info != NULL && info->error_message != NULL ? info->error_message : "unknown");
  napi_throw_error(env, NULL, msg);
}

napi_value kafka_error(napi_env env, int32_t code, const char* message) {
  napi_value msg, err, code_value;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_int32(env, code, &code_value);
  napi_set_named_property(env, err, "code", code_value);
  return err;
}

void throw_kafka(napi_env env, int code, const char* message) { napi_throw(env, kafka_error(env, code, message)); }

char* string_of(napi_env env, napi_value v) {
  napi_value s;
  size_t len = 0;
  if (napi_coerce_to_string(env, v, &s) != napi_ok) return NULL;
  if (napi_get_value_string_utf8(env, s, NULL, 0, &len) != napi_ok) return NULL;
  char* out = malloc(len + 1);
  if (out == NULL) return NULL;
  napi_get_value_string_utf8(env, s, out, len + 1, &len);
  return out;
}

int buffer_of(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
  void* d = NULL;
  if (napi_get_buffer_info(env, v, &d, len) != napi_ok) return 0;
  *data = d;
  return 1;
}

int int32s_of(napi_env env, napi_value v, const int32_t** data, size_t* len) {
  napi_typedarray_type type;
  void* d = NULL;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, &d, &ab, &offset) != napi_ok) return 0;
  if (type != napi_int32_array) return 0;
  *data = d;
  return 1;
}

int conf_from_object(napi_env env, napi_value object, rd_kafka_conf_t* conf, const char* what) {
  napi_value names;
  uint32_t count = 0;
  char errstr[512];
  if (napi_get_property_names(env, object, &names) != napi_ok || napi_get_array_length(env, names, &count) != napi_ok) {
    snprintf(errstr, sizeof errstr, "kafka-batch: %s(config) needs an object", what);
    napi_throw_type_error(env, NULL, errstr);
    return 0;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value name, value;
    napi_get_element(env, names, i, &name);
    napi_get_property(env, object, name, &value);
    char* k = string_of(env, name);
    char* v = string_of(env, value);
    rd_kafka_conf_res_t res =
        k != NULL && v != NULL ? rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) : RD_KAFKA_CONF_INVALID;
    free(k);
    free(v);
    if (res != RD_KAFKA_CONF_OK) {
      throw_kafka(env, RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
      return 0;
    }
  }
  return 1;
}

void signal_once(atomic_int* pending, napi_threadsafe_function f) {
  if (atomic_exchange(pending, 1) != 0) return;
  if (napi_call_threadsafe_function(f, NULL, napi_tsfn_nonblocking) != napi_ok) atomic_store(pending, 0);
}
