/*
 * Batch produce for the Kafka bus: one JS -> native call hands librdkafka a
 * whole batch, one native -> JS call returns every record's delivery result.
 *
 * Why this exists: the binding (@confluentinc/kafka-javascript) crosses into
 * JavaScript once per record for its delivery report (a JS object per report)
 * and enumerates a JS header object per record; those crossings, not
 * librdkafka, bound publish throughput (BENCHMARKS.md, Bus section).
 *
 * Threads: JS calls (create, batch, produce, abort, close) run on the JS thread,
 * and so do delivery reports: when librdkafka's main queue goes from empty to
 * non-empty it calls on_readable on its own thread, which wakes the JS thread
 * through the thread-safe function; that call serves the queue without
 * waiting (rd_kafka_poll(rk, 0)). A report only writes the record's slot in
 * its batch and, for the batch's last record, queues the batch on the same
 * thread-safe function; the JS thread builds the typed arrays and calls the
 * batch's callback once. (A poll thread blocking in rd_kafka_poll cost a
 * thread wakeup and a hand-back per acknowledged request, BENCHMARKS.md.)
 * Only close() serves the queue on a libuv worker, after turning the signal off.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct Producer {
  rd_kafka_t* rk;
  /* The main queue (delivery reports, errors) and whether a readable call is on its way. */
  rd_kafka_queue_t* main;
  atomic_int signalled;
  napi_threadsafe_function tsfn;
  /* Batches not yet returned to JS (JS thread only): the thread-safe function
   * keeps the event loop alive only while some are outstanding. */
  uint32_t outstanding;
  int closed;
  /* Error callbacks run wherever rd_kafka_poll runs (the JS thread, and
   * close's worker): the first fatal one claims the slot, fills it, then
   * releases fatal_set. */
  atomic_int fatal_claimed;
  atomic_int fatal_set;
  int fatal_code;
  char fatal_message[512];
} Producer;

typedef struct Batch {
  Producer* p;
  uint32_t n;
  atomic_uint remaining;
  /* slots[i] == this batch; record i's opaque is &slots[i], so a report finds
   * both its batch and its index without an allocation per record. */
  struct Batch** slots;
  int32_t* errs;
  int32_t* partitions;
  double* offsets;
  /* Inputs, referenced (not copied) until the batch is returned to JS: the
   * values are handed to librdkafka without a copy (it keeps the pointer until
   * the report), keys are copied by librdkafka at produce time. */
  napi_ref values_ref, keys_ref, key_ends_ref, layout_ref, callback_ref, header_bytes_ref, pair_ends_ref,
      record_pairs_ref;
  const uint8_t* values;
  const uint8_t* keys;
  const int32_t* key_ends;
  uint32_t nkeys;
  /* Headers: distinct name/value pairs back to back in header_bytes, pair p's
   * name ending at pair_ends[2p] and its value at pair_ends[2p+1]; record i's
   * pairs are record_pairs[previous record's end .. layout[4i+2]). Each record
   * gets its own rd_kafka_headers_t at produce time (librdkafka owns it then). */
  const uint8_t* header_bytes;
  const int32_t* pair_ends;
  const int32_t* record_pairs;
  /* per record: topic index, key index (-1 null), end of its header pairs, value end */
  const int32_t* layout;
  rd_kafka_topic_t** topics;
  uint32_t ntopics;
} Batch;

#define LAYOUT 4

static char EMPTY[1];

/* ---------- librdkafka callbacks ---------- */

static void finish_produce(Batch* b) {
  if (b->topics != NULL) {
    for (uint32_t t = 0; t < b->ntopics; t++)
      if (b->topics[t] != NULL) rd_kafka_topic_destroy(b->topics[t]);
    free(b->topics);
    b->topics = NULL;
  }
}

/* Counts `count` records out; the batch's last one queues it for JS. Any thread. */
static void settle(Batch* b, uint32_t count) {
  if (atomic_fetch_sub(&b->remaining, count) == count) {
    napi_call_threadsafe_function(b->p->tsfn, b, napi_tsfn_nonblocking);
  }
}

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) {
  Batch** slot = msg->_private;
  if (slot == NULL) return;
  Batch* b = *slot;
  size_t i = (size_t)(slot - b->slots);
  b->errs[i] = msg->err;
  b->partitions[i] = msg->partition;
  b->offsets[i] = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? (double)msg->offset : -1;
  settle(b, 1);
}

static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  Producer* p = opaque;
  if (err != RD_KAFKA_RESP_ERR__FATAL || atomic_exchange(&p->fatal_claimed, 1)) return;
  char buf[400];
  rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk, buf, sizeof buf);
  p->fatal_code = code;
  snprintf(p->fatal_message, sizeof p->fatal_message, "%s", code != 0 ? buf : reason);
  atomic_store(&p->fatal_set, 1);
}

/* librdkafka's own log lines are dropped: what a publish needs arrives as
 * delivery reports and fatal errors, and the binding's producer (same config,
 * kept for admin requests) already reports connection and security failures. */
static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {}

/* The readable call is the thread-safe function's call with no batch. */
static void on_readable(rd_kafka_t* rk, void* opaque) {
  Producer* p = opaque;
  signal_once(&p->signalled, p->tsfn);
}

/* ---------- back on the JS thread ---------- */

static napi_value typed(napi_env env, napi_typedarray_type type, const void* src, size_t n, size_t width) {
  void* data = NULL;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, n * width, &data, &ab) != napi_ok) return NULL;
  memcpy(data, src, n * width);
  if (napi_create_typedarray(env, type, n, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

static void free_batch(napi_env env, Batch* b) {
  finish_produce(b);
  if (env != NULL) {
    napi_ref refs[] = {b->values_ref,       b->keys_ref,      b->key_ends_ref,    b->layout_ref,
                       b->callback_ref,     b->header_bytes_ref, b->pair_ends_ref, b->record_pairs_ref};
    for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++)
      if (refs[r] != NULL) napi_delete_reference(env, refs[r]);
  }
  free(b->slots);
  free(b->errs);
  free(b->partitions);
  free(b->offsets);
  free(b);
}

static void call_js(napi_env env, napi_value unused, void* context, void* data) {
  if (data == NULL) {
    Producer* q = context;
    /* Cleared before serving: whatever arrives after this poll signals anew.
     * Reports served here settle their batches onto this same function. */
    atomic_store(&q->signalled, 0);
    if (env != NULL && !q->closed) rd_kafka_poll(q->rk, 0);
    return;
  }
  Batch* b = data;
  Producer* p = b->p;
  if (env == NULL) {
    free_batch(NULL, b);
    return;
  }
  napi_value cb, undefined, args[3];
  napi_get_undefined(env, &undefined);
  args[0] = typed(env, napi_int32_array, b->errs, b->n, sizeof(int32_t));
  args[1] = typed(env, napi_int32_array, b->partitions, b->n, sizeof(int32_t));
  args[2] = typed(env, napi_float64_array, b->offsets, b->n, sizeof(double));
  int ok = args[0] != NULL && args[1] != NULL && args[2] != NULL &&
           napi_get_reference_value(env, b->callback_ref, &cb) == napi_ok;
  free_batch(env, b);
  if (--p->outstanding == 0 && !p->closed) napi_unref_threadsafe_function(env, p->tsfn);
  if (!ok) {
    napi_throw_error(env, NULL, "kafka-batch: could not build delivery results");
  } else {
    napi_value result;
    napi_call_function(env, undefined, cb, 3, args, &result);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void tsfn_finalize(napi_env env, void* data, void* hint) {
  Producer* p = data;
  free(p);
}

/* ---------- exported functions ---------- */

static Producer* producer_of(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "kafka-batch: not a producer handle");
    return NULL;
  }
  return p;
}

/* create(config: Record<string, string>) -> handle */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (argc < 1 || !conf_from_object(env, argv[0], conf, "create")) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  Producer* p = calloc(1, sizeof *p);
  if (p == NULL) {
    rd_kafka_conf_destroy(conf);
    napi_throw_error(env, NULL, "kafka-batch: out of memory");
    return NULL;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_opaque(conf, p);
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (p->rk == NULL) {
    /* rd_kafka_new destroys conf only on success. */
    rd_kafka_conf_destroy(conf);
    free(p);
    throw_kafka(env, RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "marketflow-batch-producer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, tsfn_finalize, p, call_js, &p->tsfn) !=
      napi_ok) {
    rd_kafka_destroy(p->rk);
    free(p);
    throw_last(env, "napi_create_threadsafe_function");
    return NULL;
  }
  napi_unref_threadsafe_function(env, p->tsfn);
  p->main = rd_kafka_queue_get_main(p->rk);
  if (p->main == NULL) {
    rd_kafka_destroy(p->rk);
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
    napi_throw_error(env, NULL, "kafka-batch: the producer has no main queue");
    return NULL;
  }
  rd_kafka_queue_cb_event_enable(p->main, on_readable, p);
  /* Reports that arrived before the signal was on are served by the next poll. */
  rd_kafka_poll(p->rk, 0);
  napi_value handle;
  /* The Producer is freed by the thread-safe function's finaliser after close(). */
  NAPI_OK(env, napi_create_external(env, p, NULL, NULL, &handle));
  return handle;
}

/*
 * batch(handle, topics: string[], keys: Buffer, keyEnds: Int32Array,
 *       headerBytes: Buffer, pairEnds: Int32Array, recordPairs: Int32Array,
 *       values: Buffer, layout: Int32Array (4 per record),
 *       callback(errs, partitions, offsets)) -> batch handle
 */
static napi_value batch(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) {
    napi_throw_type_error(env, NULL, "kafka-batch: batch() takes 10 arguments");
    return NULL;
  }
  Producer* p = producer_of(env, argv[0]);
  if (p == NULL) return NULL;
  if (p->closed) {
    throw_kafka(env, RD_KAFKA_RESP_ERR__DESTROY, "producer is closed");
    return NULL;
  }
  const uint8_t *keys, *values, *header_bytes;
  const int32_t *key_ends, *layout, *pair_ends, *record_pairs;
  size_t keys_len, values_len, nkeys, layout_len, header_bytes_len, npair_ends, nrecord_pairs;
  uint32_t ntopics = 0;
  if (!buffer_of(env, argv[2], &keys, &keys_len) || !int32s_of(env, argv[3], &key_ends, &nkeys) ||
      !buffer_of(env, argv[4], &header_bytes, &header_bytes_len) ||
      !int32s_of(env, argv[5], &pair_ends, &npair_ends) || !int32s_of(env, argv[6], &record_pairs, &nrecord_pairs) ||
      !buffer_of(env, argv[7], &values, &values_len) || !int32s_of(env, argv[8], &layout, &layout_len) ||
      napi_get_array_length(env, argv[1], &ntopics) != napi_ok || layout_len == 0 || layout_len % LAYOUT != 0 ||
      npair_ends % 2 != 0) {
    napi_throw_type_error(env, NULL, "kafka-batch: batch() argument of the wrong type");
    return NULL;
  }
  uint32_t n = (uint32_t)(layout_len / LAYOUT);
  /* Validate the layout once so produce() can trust it. */
  int32_t prev_end = 0, prev_pairs = 0;
  for (uint32_t i = 0; i < n; i++) {
    const int32_t* r = layout + (size_t)i * LAYOUT;
    if (r[0] < 0 || (uint32_t)r[0] >= ntopics || r[1] < -1 || (r[1] >= 0 && (size_t)r[1] >= nkeys) ||
        r[2] < prev_pairs || (size_t)r[2] > nrecord_pairs || r[3] < prev_end || (size_t)r[3] > values_len) {
      napi_throw_range_error(env, NULL, "kafka-batch: record layout out of range");
      return NULL;
    }
    prev_end = r[3];
    prev_pairs = r[2];
  }
  for (size_t k = 0; k < nrecord_pairs; k++) {
    if (record_pairs[k] < 0 || (size_t)record_pairs[k] * 2 >= npair_ends) {
      napi_throw_range_error(env, NULL, "kafka-batch: header pair index out of range");
      return NULL;
    }
  }
  for (size_t e = 0; e < npair_ends; e++) {
    if (pair_ends[e] < (e == 0 ? 0 : pair_ends[e - 1]) || (size_t)pair_ends[e] > header_bytes_len) {
      napi_throw_range_error(env, NULL, "kafka-batch: header pair ends out of range");
      return NULL;
    }
  }
  for (size_t k = 0; k < nkeys; k++) {
    if (key_ends[k] < (k == 0 ? 0 : key_ends[k - 1]) || (size_t)key_ends[k] > keys_len) {
      napi_throw_range_error(env, NULL, "kafka-batch: key ends out of range");
      return NULL;
    }
  }
  Batch* b = calloc(1, sizeof *b);
  if (b == NULL) goto oom;
  b->p = p;
  b->n = n;
  atomic_init(&b->remaining, n);
  b->slots = malloc(sizeof(Batch*) * n);
  b->errs = calloc(n, sizeof(int32_t));
  b->partitions = malloc(sizeof(int32_t) * n);
  b->offsets = malloc(sizeof(double) * n);
  b->topics = calloc(ntopics, sizeof(rd_kafka_topic_t*));
  if (b->slots == NULL || b->errs == NULL || b->partitions == NULL || b->offsets == NULL || b->topics == NULL) {
    free_batch(NULL, b);
    goto oom;
  }
  b->ntopics = ntopics;
  for (uint32_t i = 0; i < n; i++) b->slots[i] = b;
  for (uint32_t t = 0; t < ntopics; t++) {
    napi_value v;
    napi_get_element(env, argv[1], t, &v);
    char* name = string_of(env, v);
    b->topics[t] = name == NULL ? NULL : rd_kafka_topic_new(p->rk, name, NULL);
    free(name);
    if (b->topics[t] == NULL) {
      free_batch(NULL, b);
      throw_kafka(env, rd_kafka_last_error(), "could not create a topic handle");
      return NULL;
    }
  }
  b->values = values;
  b->keys = keys;
  b->key_ends = key_ends;
  b->nkeys = (uint32_t)nkeys;
  b->layout = layout;
  b->header_bytes = header_bytes;
  b->pair_ends = pair_ends;
  b->record_pairs = record_pairs;
  napi_create_reference(env, argv[2], 1, &b->keys_ref);
  napi_create_reference(env, argv[3], 1, &b->key_ends_ref);
  napi_create_reference(env, argv[4], 1, &b->header_bytes_ref);
  napi_create_reference(env, argv[5], 1, &b->pair_ends_ref);
  napi_create_reference(env, argv[6], 1, &b->record_pairs_ref);
  napi_create_reference(env, argv[7], 1, &b->values_ref);
  napi_create_reference(env, argv[8], 1, &b->layout_ref);
  napi_create_reference(env, argv[9], 1, &b->callback_ref);
  if (p->outstanding++ == 0) napi_ref_threadsafe_function(env, p->tsfn);
  napi_value handle;
  NAPI_OK(env, napi_create_external(env, b, NULL, NULL, &handle));
  return handle;
oom:
  napi_throw_error(env, NULL, "kafka-batch: out of memory");
  return NULL;
}

/* Records [from, n) will not be produced: they fail with `code`. */
static void count_out(Batch* b, uint32_t from, int32_t code) {
  for (uint32_t i = from; i < b->n; i++) {
    b->errs[i] = code;
    b->partitions[i] = RD_KAFKA_PARTITION_UA;
    b->offsets[i] = -1;
  }
  finish_produce(b);
  if (from < b->n) settle(b, b->n - from);
}

/*
 * produce(batch, from) -> the index reached. Less than the batch's size means
 * librdkafka's queue is full (queue.buffering.max.messages): call again from
 * there once deliveries made room. Any other error fails the rest of the batch
 * with that code (reported through the callback like delivery failures).
 */
static napi_value produce(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* ptr = NULL;
  uint32_t from = 0;
  if (argc < 2 || napi_get_value_external(env, argv[0], &ptr) != napi_ok || ptr == NULL ||
      napi_get_value_uint32(env, argv[1], &from) != napi_ok) {
    napi_throw_type_error(env, NULL, "kafka-batch: produce(batch, from)");
    return NULL;
  }
  Batch* b = ptr;
  rd_kafka_t* rk = b->p->rk;
  uint32_t i = from;
  if (b->topics == NULL) i = b->n; /* already finished (or counted out) */
  for (; i < b->n; i++) {
    const int32_t* r = b->layout + (size_t)i * LAYOUT;
    int32_t start = i == 0 ? 0 : b->layout[(size_t)(i - 1) * LAYOUT + 3];
    /* A NULL pointer means a null key or value (a tombstone); an empty one
     * must stay empty, and an empty Buffer's data pointer may be NULL. */
    const void* key = NULL;
    size_t key_len = 0;
    if (r[1] >= 0) {
      int32_t ks = r[1] == 0 ? 0 : b->key_ends[r[1] - 1];
      key = b->keys != NULL ? (const void*)(b->keys + ks) : (const void*)EMPTY;
      key_len = (size_t)(b->key_ends[r[1]] - ks);
    }
    void* value = b->values != NULL ? (void*)(b->values + start) : (void*)EMPTY;
    int32_t pairs_from = i == 0 ? 0 : b->layout[(size_t)(i - 1) * LAYOUT + 2];
    rd_kafka_headers_t* hdrs = NULL;
    if (r[2] > pairs_from) {
      hdrs = rd_kafka_headers_new((size_t)(r[2] - pairs_from));
      for (int32_t k = pairs_from; k < r[2]; k++) {
        int32_t pi = b->record_pairs[k];
        int32_t name_from = pi == 0 ? 0 : b->pair_ends[2 * pi - 1];
        int32_t name_end = b->pair_ends[2 * pi];
        const char* base = b->header_bytes != NULL ? (const char*)b->header_bytes : EMPTY;
        rd_kafka_header_add(hdrs, base + name_from, name_end - name_from, base + name_end,
                            b->pair_ends[2 * pi + 1] - name_end);
      }
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(b->topics[r[0]]), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA), RD_KAFKA_V_MSGFLAGS(0),
        RD_KAFKA_V_VALUE(value, (size_t)(r[3] - start)), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&b->slots[i]), RD_KAFKA_V_END);
    /* Serve delivery reports during a long produce too, not only when the
     * queue signals: room in librdkafka's queue comes back sooner, and a
     * message is freed by the thread that allocated it, which glibc's
     * per-thread caches serve without the arena lock. */
    if ((i & 255) == 255) rd_kafka_poll(rk, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (hdrs != NULL) rd_kafka_headers_destroy(hdrs);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      count_out(b, i, err);
      i = b->n;
      break;
    }
  }
  if (i == b->n) finish_produce(b);
  napi_value result;
  napi_create_uint32(env, i, &result);
  return result;
}

/* abort(batch, from, code): records [from, n) fail with `code` (an interrupted or fatally failed publish). */
static napi_value abort_batch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* ptr = NULL;
  uint32_t from = 0;
  int32_t code = 0;
  if (argc < 3 || napi_get_value_external(env, argv[0], &ptr) != napi_ok || ptr == NULL ||
      napi_get_value_uint32(env, argv[1], &from) != napi_ok || napi_get_value_int32(env, argv[2], &code) != napi_ok) {
    napi_throw_type_error(env, NULL, "kafka-batch: abort(batch, from, code)");
    return NULL;
  }
  Batch* b = ptr;
  if (b->topics != NULL && from < b->n) count_out(b, from, code);
  return NULL;
}

/* fatalError(handle) -> undefined | { code, message } */
static napi_value fatal_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Producer* p = argc < 1 ? NULL : producer_of(env, argv[0]);
  if (p == NULL) return NULL;
  if (!atomic_load(&p->fatal_set)) return NULL;
  napi_value code, message;
  napi_create_object(env, &result);
  napi_create_int32(env, p->fatal_code, &code);
  napi_create_string_utf8(env, p->fatal_message, NAPI_AUTO_LENGTH, &message);
  napi_set_named_property(env, result, "code", code);
  napi_set_named_property(env, result, "message", message);
  return result;
}

/* errorString(code) -> librdkafka's text for a code */
static napi_value error_string(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t code = 0;
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  napi_create_string_utf8(env, rd_kafka_err2str(code), NAPI_AUTO_LENGTH, &result);
  return result;
}

typedef struct Close {
  Producer* p;
  int timeout_ms;
  int32_t flush_err;
  napi_async_work work;
  napi_ref callback_ref;
} Close;

static void close_execute(napi_env env, void* data) {
  Close* c = data;
  Producer* p = c->p;
  /* From here this worker serves the queue: rd_kafka_flush polls it. */
  rd_kafka_queue_cb_event_enable(p->main, NULL, NULL);
  rd_kafka_queue_destroy(p->main);
  p->main = NULL;
  c->flush_err = rd_kafka_flush(p->rk, c->timeout_ms);
  /* What the flush could not deliver fails (ERR__PURGE_*), so every batch is
   * returned to JS before the handle goes away. */
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int k = 0; k < 50 && rd_kafka_outq_len(p->rk) > 0; k++) rd_kafka_poll(p->rk, 100);
  rd_kafka_poll(p->rk, 0);
  rd_kafka_destroy(p->rk);
  p->rk = NULL;
}

static void close_complete(napi_env env, napi_status status, void* data) {
  Close* c = data;
  napi_value cb, undefined, arg, result;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, c->flush_err, &arg);
  napi_get_reference_value(env, c->callback_ref, &cb);
  napi_delete_reference(env, c->callback_ref);
  napi_delete_async_work(env, c->work);
  /* Batches completed during the close are still queued: released (not
   * aborted), the thread-safe function delivers them before its finaliser. */
  napi_release_threadsafe_function(c->p->tsfn, napi_tsfn_release);
  free(c);
  napi_call_function(env, undefined, cb, 1, &arg, &result);
}

/* close(handle, timeoutMs, callback(flushErrorCode)): flush, fail what is left, destroy. Once. */
static napi_value close_producer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Producer* p = argc < 3 ? NULL : producer_of(env, argv[0]);
  if (p == NULL) return NULL;
  if (p->closed) {
    throw_kafka(env, RD_KAFKA_RESP_ERR__DESTROY, "producer is already closed");
    return NULL;
  }
  Close* c = calloc(1, sizeof *c);
  if (c == NULL) {
    napi_throw_error(env, NULL, "kafka-batch: out of memory");
    return NULL;
  }
  c->p = p;
  napi_get_value_int32(env, argv[1], &c->timeout_ms);
  p->closed = 1;
  /* Keep the loop alive until the close has completed. */
  napi_ref_threadsafe_function(env, p->tsfn);
  napi_create_reference(env, argv[2], 1, &c->callback_ref);
  napi_value name;
  napi_create_string_utf8(env, "marketflow-batch-producer-close", NAPI_AUTO_LENGTH, &name);
  NAPI_OK(env, napi_create_async_work(env, NULL, name, close_execute, close_complete, c, &c->work));
  NAPI_OK(env, napi_queue_async_work(env, c->work));
  return NULL;
}

void producer_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"batch", NULL, batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"produce", NULL, produce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"abort", NULL, abort_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fatalError", NULL, fatal_error, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errorString", NULL, error_string, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_producer, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
