/* One addon for the Kafka bus's batch paths: produce (producer.c) and consume (consumer.c). */
#include <node_api.h>

void producer_register(napi_env env, napi_value exports);
void consumer_register(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  producer_register(env, exports);
  consumer_register(env, exports);
  return exports;
}
