/*
 * Batch consume for the Kafka bus: a consumer-group member over librdkafka
 * whose consume(n) returns a whole batch as a few flat arrays and one byte
 * buffer, instead of the binding's JS object, key Buffer, value Buffer and
 * header objects per message, each built through N-API calls on the JS
 * thread (35-45 % of a sink's busy time, BENCHMARKS.md).
 *
 * Threads:
 *  - poll() never blocks: it takes what librdkafka has already fetched, on
 *    the JS thread. When the consumer queue goes from empty to non-empty,
 *    librdkafka calls on_readable on its own thread, which wakes JS through a
 *    thread-safe function ("readable"); the JS side polls again then, or after
 *    its own timeout. A blocking poll on a libuv worker cost a pool thread's
 *    wakeup and a hand-back per batch (600-1 000 thread switches a second per
 *    consumer at 10 000 events/s, BENCHMARKS.md), and held one of libuv's four
 *    pool threads per consumer while it waited.
 *  - metadata() and seek() run librdkafka's blocking calls on libuv worker
 *    threads (napi async work); close() too.
 *  - Rebalance, commit and error callbacks are served by rd_kafka_consumer_poll,
 *    so they run inside poll(): they are queued here (mutex) and handed to JS
 *    with that poll's result, in the order they happened. The JS side answers
 *    rebalances itself (incrementalAssign/Unassign) between polls, as it does
 *    with the binding; only while closing (rd_kafka_consumer_close, on a
 *    worker) does the callback answer them directly, since nobody polls.
 *  - Log lines arrive on librdkafka's own threads and go to JS through a
 *    thread-safe function (connect watches them for security failures).
 *  - close() waits for a poll, metadata or seek still running before it
 *    closes the handle, and stops the readable signal first.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { EV_REBALANCE = 1, EV_COMMIT = 2, EV_ERROR = 3 };

typedef struct Event {
  int kind;
  int32_t code;
  int lost;
  int fatal;
  char* message;
  rd_kafka_topic_partition_list_t* parts;
  struct Event* next;
} Event;

typedef struct Consumer {
  rd_kafka_t* rk;
  pthread_mutex_t lock;
  pthread_cond_t idle;
  Event* head;
  Event* tail;
  /* Workers (consume, metadata, seek) using rk; close waits for none. */
  int busy;
  atomic_int closing;
  int closed; /* JS thread only */
  napi_threadsafe_function logs;
  /* The consumer queue (messages and callbacks) and its empty -> non-empty signal. */
  rd_kafka_queue_t* queue;
  napi_threadsafe_function readable;
  /* Set while a readable call is on its way to JS: one wakeup is enough. */
  atomic_int signalled;
  /* Owners: the JS handle, the log and the readable functions; the last to finalise frees. */
  atomic_int owners;
} Consumer;

typedef struct LogLine {
  int level;
  char fac[64];
  char message[1024];
} LogLine;

/* Queues a callback's event for JS. Called from a callback served by
 * rd_kafka_consumer_poll: rd_kafka_yield makes that poll return now, so the
 * event reaches JS before any further message (a rebalance must be answered
 * before records of the new assignment are taken). */
static void push_event(rd_kafka_t* rk, Consumer* c, Event* e) {
  pthread_mutex_lock(&c->lock);
  if (c->tail == NULL) c->head = e;
  else c->tail->next = e;
  c->tail = e;
  pthread_mutex_unlock(&c->lock);
  rd_kafka_yield(rk);
}

static Event* take_events(Consumer* c) {
  pthread_mutex_lock(&c->lock);
  Event* e = c->head;
  c->head = c->tail = NULL;
  pthread_mutex_unlock(&c->lock);
  return e;
}

static void free_events(Event* e) {
  while (e != NULL) {
    Event* next = e->next;
    if (e->parts != NULL) rd_kafka_topic_partition_list_destroy(e->parts);
    free(e->message);
    free(e);
    e = next;
  }
}

static int enter(Consumer* c) {
  pthread_mutex_lock(&c->lock);
  int ok = !atomic_load(&c->closing);
  if (ok) c->busy++;
  pthread_mutex_unlock(&c->lock);
  return ok;
}

static void leave(Consumer* c) {
  pthread_mutex_lock(&c->lock);
  if (--c->busy == 0) pthread_cond_broadcast(&c->idle);
  pthread_mutex_unlock(&c->lock);
}

/* ---------- librdkafka callbacks: rebalance, commit and error inside rd_kafka_consumer_poll (the JS
 * thread, or close's worker); log and readable on librdkafka's own threads ---------- */

static int cooperative(rd_kafka_t* rk) { return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0; }

static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  Consumer* c = opaque;
  if (atomic_load(&c->closing)) {
    rd_kafka_error_t* e = NULL;
    if (cooperative(rk)) {
      e = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? rd_kafka_incremental_assign(rk, parts)
                                                      : rd_kafka_incremental_unassign(rk, parts);
    } else {
      rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts : NULL);
    }
    if (e != NULL) rd_kafka_error_destroy(e);
    return;
  }
  Event* e = calloc(1, sizeof *e);
  if (e == NULL) return;
  e->kind = EV_REBALANCE;
  e->code = err;
  e->lost = err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && rd_kafka_assignment_lost(rk);
  e->parts = rd_kafka_topic_partition_list_copy(parts);
  push_event(rk, c, e);
}

static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  Consumer* c = opaque;
  Event* e = calloc(1, sizeof *e);
  if (e == NULL) return;
  e->kind = EV_COMMIT;
  e->code = err;
  e->message = err != RD_KAFKA_RESP_ERR_NO_ERROR ? strdup(rd_kafka_err2str(err)) : NULL;
  e->parts = offsets != NULL ? rd_kafka_topic_partition_list_copy(offsets) : NULL;
  push_event(rk, c, e);
}

static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  Consumer* c = opaque;
  Event* e = calloc(1, sizeof *e);
  if (e == NULL) return;
  char buf[512];
  e->kind = EV_ERROR;
  e->code = err;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    e->fatal = 1;
    rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk, buf, sizeof buf);
    if (code != 0) {
      e->code = code;
      reason = buf;
    }
  }
  e->message = strdup(reason != NULL ? reason : "");
  push_event(rk, c, e);
}

static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  Consumer* c = rd_kafka_opaque(rk);
  if (c == NULL || c->logs == NULL) return;
  LogLine* line = malloc(sizeof *line);
  if (line == NULL) return;
  line->level = level;
  snprintf(line->fac, sizeof line->fac, "%s", fac != NULL ? fac : "");
  snprintf(line->message, sizeof line->message, "%s", buf != NULL ? buf : "");
  if (napi_call_threadsafe_function(c->logs, line, napi_tsfn_nonblocking) != napi_ok) free(line);
}

static void call_log(napi_env env, napi_value cb, void* context, void* data) {
  LogLine* line = data;
  if (env != NULL && cb != NULL) {
    napi_value obj, severity, fac, message, undefined, result;
    napi_create_object(env, &obj);
    napi_create_int32(env, line->level, &severity);
    napi_create_string_utf8(env, line->fac, NAPI_AUTO_LENGTH, &fac);
    napi_create_string_utf8(env, line->message, NAPI_AUTO_LENGTH, &message);
    napi_set_named_property(env, obj, "severity", severity);
    napi_set_named_property(env, obj, "fac", fac);
    napi_set_named_property(env, obj, "message", message);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 1, &obj, &result);
  }
  free(line);
}

static void on_readable(rd_kafka_t* rk, void* opaque) {
  Consumer* c = opaque;
  signal_once(&c->signalled, c->readable);
}

static void call_readable(napi_env env, napi_value cb, void* context, void* data) {
  Consumer* c = context;
  /* Cleared before JS polls: whatever arrives after that poll signals anew. */
  atomic_store(&c->signalled, 0);
  if (env != NULL && cb != NULL) {
    napi_value undefined, result;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 0, NULL, &result);
  }
}

static void release_owner(Consumer* c) {
  if (atomic_fetch_sub(&c->owners, 1) != 1) return;
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->idle);
  free_events(c->head);
  free(c);
}

/* Finaliser of the handle and of both thread-safe functions: each is an owner. */
static void owner_finalize(napi_env env, void* data, void* hint) { release_owner(data); }

/* ---------- JS-thread helpers ---------- */

static Consumer* consumer_of(napi_env env, napi_value v) {
  void* c = NULL;
  if (napi_get_value_external(env, v, &c) != napi_ok || c == NULL) {
    napi_throw_type_error(env, NULL, "kafka-batch: not a consumer handle");
    return NULL;
  }
  Consumer* consumer = c;
  if (consumer->closed) {
    throw_kafka(env, RD_KAFKA_RESP_ERR__DESTROY, "consumer is closed");
    return NULL;
  }
  return consumer;
}

/* topics: string[], partitions: Int32Array, offsets?: Float64Array -> a librdkafka list (NULL: thrown). */
static rd_kafka_topic_partition_list_t* parts_of(napi_env env, napi_value topics, napi_value partitions,
                                                 napi_value offsets) {
  uint32_t n = 0;
  const int32_t* ps = NULL;
  size_t np = 0;
  double* os = NULL;
  size_t no = 0;
  if (napi_get_array_length(env, topics, &n) != napi_ok || !int32s_of(env, partitions, &ps, &np) || np != n) {
    napi_throw_type_error(env, NULL, "kafka-batch: partitions as (topics, Int32Array)");
    return NULL;
  }
  if (offsets != NULL) {
    napi_typedarray_type type;
    void* d = NULL;
    napi_value ab;
    size_t byte_offset;
    if (napi_get_typedarray_info(env, offsets, &type, &no, &d, &ab, &byte_offset) != napi_ok ||
        type != napi_float64_array || no != n) {
      napi_throw_type_error(env, NULL, "kafka-batch: offsets as a Float64Array");
      return NULL;
    }
    os = d;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new((int)n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value t;
    napi_get_element(env, topics, i, &t);
    char* name = string_of(env, t);
    if (name == NULL) {
      rd_kafka_topic_partition_list_destroy(list);
      napi_throw_type_error(env, NULL, "kafka-batch: a topic name is not a string");
      return NULL;
    }
    rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(list, name, ps[i]);
    if (os != NULL) tp->offset = (int64_t)os[i];
    free(name);
  }
  return list;
}

static napi_value parts_to_js(napi_env env, const rd_kafka_topic_partition_list_t* parts, int with_offsets) {
  napi_value arr;
  napi_create_array_with_length(env, parts != NULL ? (size_t)parts->cnt : 0, &arr);
  if (parts == NULL) return arr;
  for (int i = 0; i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t* tp = &parts->elems[i];
    napi_value o, topic, partition;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, tp->topic, NAPI_AUTO_LENGTH, &topic);
    napi_create_int32(env, tp->partition, &partition);
    napi_set_named_property(env, o, "topic", topic);
    napi_set_named_property(env, o, "partition", partition);
    if (with_offsets) {
      napi_value offset;
      napi_create_double(env, (double)tp->offset, &offset);
      napi_set_named_property(env, o, "offset", offset);
    }
    napi_set_element(env, arr, (uint32_t)i, o);
  }
  return arr;
}

static napi_value events_to_js(napi_env env, Event* e) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (; e != NULL; e = e->next) {
    napi_value o, kind, code;
    napi_create_object(env, &o);
    napi_create_string_utf8(
        env, e->kind == EV_REBALANCE ? "rebalance" : e->kind == EV_COMMIT ? "commit" : "error", NAPI_AUTO_LENGTH,
        &kind);
    napi_create_int32(env, e->code, &code);
    napi_set_named_property(env, o, "kind", kind);
    napi_set_named_property(env, o, "code", code);
    if (e->kind == EV_REBALANCE) {
      napi_value lost;
      napi_get_boolean(env, e->lost != 0, &lost);
      napi_set_named_property(env, o, "lost", lost);
    }
    if (e->kind != EV_ERROR) napi_set_named_property(env, o, "partitions", parts_to_js(env, e->parts, e->kind == EV_COMMIT));
    if (e->kind == EV_ERROR) {
      napi_value fatal;
      napi_get_boolean(env, e->fatal != 0, &fatal);
      napi_set_named_property(env, o, "fatal", fatal);
    }
    if (e->kind != EV_REBALANCE) {
      napi_value message;
      napi_create_string_utf8(env, e->message != NULL ? e->message : "", NAPI_AUTO_LENGTH, &message);
      napi_set_named_property(env, o, "message", message);
    }
    napi_set_element(env, arr, i++, o);
  }
  return arr;
}

static napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* Calls cb(args) and routes an exception it throws to the process (like an uncaught error). */
static void call_back(napi_env env, napi_ref cb_ref, size_t argc, napi_value* argv) {
  napi_value cb, result;
  napi_get_reference_value(env, cb_ref, &cb);
  napi_delete_reference(env, cb_ref);
  napi_call_function(env, undefined_value(env), cb, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* ---------- create / subscribe ---------- */

/* create(config: Record<string, string>, onLog(line), onReadable()) -> handle */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "kafka-batch: consumer create(config, onLog, onReadable)");
    return NULL;
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!conf_from_object(env, argv[0], conf, "consumer create")) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  Consumer* c = calloc(1, sizeof *c);
  if (c == NULL) {
    rd_kafka_conf_destroy(conf);
    napi_throw_error(env, NULL, "kafka-batch: out of memory");
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->idle, NULL);
  atomic_init(&c->owners, 1);
  napi_value name;
  napi_create_string_utf8(env, "marketflow-kafka-consumer-log", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, c, owner_finalize, NULL, call_log, &c->logs) !=
      napi_ok) {
    rd_kafka_conf_destroy(conf);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->idle);
    free(c);
    throw_last(env, "napi_create_threadsafe_function");
    return NULL;
  }
  /* Log lines must not keep the process alive. */
  napi_unref_threadsafe_function(env, c->logs);
  napi_value readable_name;
  napi_create_string_utf8(env, "marketflow-kafka-consumer-readable", NAPI_AUTO_LENGTH, &readable_name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, readable_name, 0, 1, c, owner_finalize, c, call_readable,
                                      &c->readable) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    c->closed = 1;
    napi_release_threadsafe_function(c->logs, napi_tsfn_abort);
    throw_last(env, "napi_create_threadsafe_function");
    return NULL;
  }
  atomic_fetch_add(&c->owners, 1);
  /* Nor does waiting for records: the JS side's poll timer decides that. */
  napi_unref_threadsafe_function(env, c->readable);
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_opaque(conf, c);
  char errstr[512];
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (c->rk == NULL) {
    rd_kafka_conf_destroy(conf);
    c->closed = 1;
    /* The two functions' finalisers, its only owners, free the consumer. */
    napi_release_threadsafe_function(c->logs, napi_tsfn_abort);
    napi_release_threadsafe_function(c->readable, napi_tsfn_abort);
    throw_kafka(env, RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
    return NULL;
  }
  /* One queue for messages and callbacks: rd_kafka_consumer_poll serves both,
   * and its empty -> non-empty transition is what wakes JS. */
  rd_kafka_poll_set_consumer(c->rk);
  c->queue = rd_kafka_queue_get_consumer(c->rk);
  if (c->queue != NULL) rd_kafka_queue_cb_event_enable(c->queue, on_readable, c);
  napi_value handle;
  atomic_fetch_add(&c->owners, 1);
  NAPI_OK(env, napi_create_external(env, c, owner_finalize, NULL, &handle));
  return handle;
}

/* subscribe(handle, topics: string[]) */
static napi_value subscribe(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Consumer* c = argc < 2 ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) return NULL;
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "kafka-batch: subscribe(handle, topics)");
    return NULL;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new((int)n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value t;
    napi_get_element(env, argv[1], i, &t);
    char* name = string_of(env, t);
    if (name != NULL) rd_kafka_topic_partition_list_add(list, name, RD_KAFKA_PARTITION_UA);
    free(name);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw_kafka(env, err, rd_kafka_err2str(err));
  return NULL;
}

/* ---------- consume ---------- */

typedef struct Grow {
  uint8_t* data;
  size_t len, cap;
} Grow;

static int grow_to(Grow* g, size_t need) {
  if (need <= g->cap) return 1;
  size_t cap = g->cap == 0 ? 4096 : g->cap;
  while (cap < need) cap *= 2;
  uint8_t* d = realloc(g->data, cap);
  if (d == NULL) return 0;
  g->data = d;
  g->cap = cap;
  return 1;
}

static int append(Grow* g, const void* src, size_t n) {
  if (!grow_to(g, g->len + n)) return 0;
  if (n > 0) memcpy(g->data + g->len, src, n);
  g->len += n;
  return 1;
}

#define META 7   /* per message: topic, partition, key start, key length (-1 null), value start, value length, header end */
#define HDR 4    /* per header: name start, name length, value start, value length (-1 null) */
#define MAX_TOPICS 64

typedef struct Consume {
  uint32_t max;
  uint32_t n;
  Grow bytes, meta, nums, hdrs;
  char* topics[MAX_TOPICS];
  uint32_t ntopics;
  int32_t err;
  char* errstr;
  int oom;
} Consume;

static int32_t topic_index(Consume* k, const char* name) {
  for (uint32_t t = 0; t < k->ntopics; t++)
    if (strcmp(k->topics[t], name) == 0) return (int32_t)t;
  if (k->ntopics == MAX_TOPICS) return -1;
  k->topics[k->ntopics] = strdup(name);
  return k->topics[k->ntopics] == NULL ? -1 : (int32_t)k->ntopics++;
}

/* Appends one message to the batch; 0 when out of memory or topics. */
static int pack(Consume* k, const rd_kafka_message_t* m) {
  int32_t meta[META];
  meta[0] = topic_index(k, rd_kafka_topic_name(m->rkt));
  if (meta[0] < 0) return 0;
  meta[1] = m->partition;
  meta[2] = (int32_t)k->bytes.len;
  meta[3] = m->key == NULL ? -1 : (int32_t)m->key_len;
  if (m->key != NULL && !append(&k->bytes, m->key, m->key_len)) return 0;
  meta[4] = (int32_t)k->bytes.len;
  meta[5] = (int32_t)m->len;
  if (m->payload != NULL && !append(&k->bytes, m->payload, m->len)) return 0;
  rd_kafka_headers_t* headers = NULL;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers != NULL) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
      int32_t h[HDR];
      size_t name_len = strlen(name);
      h[0] = (int32_t)k->bytes.len;
      h[1] = (int32_t)name_len;
      if (!append(&k->bytes, name, name_len)) return 0;
      h[2] = (int32_t)k->bytes.len;
      h[3] = value == NULL ? -1 : (int32_t)size;
      if (value != NULL && !append(&k->bytes, value, size)) return 0;
      if (!append(&k->hdrs, h, sizeof h)) return 0;
    }
  }
  meta[6] = (int32_t)(k->hdrs.len / (sizeof(int32_t) * HDR));
  double nums[2] = {(double)m->offset, (double)rd_kafka_message_timestamp(m, NULL)};
  return append(&k->meta, meta, sizeof meta) && append(&k->nums, nums, sizeof nums);
}

/* Takes what is already fetched, up to k->max, without waiting. */
static void fill(Consumer* c, Consume* k) {
  if (!enter(c)) {
    k->err = RD_KAFKA_RESP_ERR__DESTROY;
    k->errstr = strdup("consumer is closed");
    return;
  }
  for (uint32_t i = 0; i < k->max && !atomic_load(&c->closing); i++) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c->rk, 0);
    /* NULL: the queue is empty (its next message signals readable), or a
     * callback yielded (its event is queued and goes to JS with this batch). */
    if (m == NULL) break;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      k->err = m->err;
      k->errstr = strdup(rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      break;
    }
    int ok = pack(k, m);
    rd_kafka_message_destroy(m);
    if (!ok) {
      /* This message is lost from the batch: report it as an error so the
       * caller seeks back rather than skipping it. */
      k->oom = 1;
      break;
    }
    k->n++;
  }
  leave(c);
}

static napi_value typed_copy(napi_env env, napi_typedarray_type type, const Grow* g, size_t width) {
  void* dst = NULL;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, g->len, &dst, &ab) != napi_ok) return NULL;
  if (g->len > 0) memcpy(dst, g->data, g->len);
  if (napi_create_typedarray(env, type, g->len / width, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

static void free_consume(Consume* k) {
  free(k->bytes.data);
  free(k->meta.data);
  free(k->nums.data);
  free(k->hdrs.data);
  for (uint32_t t = 0; t < k->ntopics; t++) free(k->topics[t]);
  free(k->errstr);
}

/* { error: Error | null, batch: { topics, meta, nums, headers, bytes }, events } */
static napi_value poll_result(napi_env env, Consumer* c, Consume* k) {
  napi_value result, error, batch, topics, bytes;
  if (k->oom) {
    /* A message was taken from librdkafka but not handed over: fatal, so the
     * member restarts from its committed offsets instead of skipping it. */
    napi_value fatal;
    error = kafka_error(env, RD_KAFKA_RESP_ERR__FAIL, "kafka-batch: out of memory packing a consumed batch");
    napi_get_boolean(env, true, &fatal);
    napi_set_named_property(env, error, "isFatal", fatal);
  } else if (k->err != 0) error = kafka_error(env, k->err, k->errstr != NULL ? k->errstr : rd_kafka_err2str(k->err));
  else napi_get_null(env, &error);
  napi_create_object(env, &batch);
  napi_create_array_with_length(env, k->ntopics, &topics);
  for (uint32_t t = 0; t < k->ntopics; t++) {
    napi_value s;
    napi_create_string_utf8(env, k->topics[t], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, topics, t, s);
  }
  void* dst = NULL;
  napi_create_buffer(env, k->bytes.len, &dst, &bytes);
  if (k->bytes.len > 0 && dst != NULL) memcpy(dst, k->bytes.data, k->bytes.len);
  napi_value meta = typed_copy(env, napi_int32_array, &k->meta, sizeof(int32_t));
  napi_value nums = typed_copy(env, napi_float64_array, &k->nums, sizeof(double));
  napi_value hdrs = typed_copy(env, napi_int32_array, &k->hdrs, sizeof(int32_t));
  napi_set_named_property(env, batch, "topics", topics);
  napi_set_named_property(env, batch, "bytes", bytes);
  if (meta != NULL) napi_set_named_property(env, batch, "meta", meta);
  if (nums != NULL) napi_set_named_property(env, batch, "nums", nums);
  if (hdrs != NULL) napi_set_named_property(env, batch, "headers", hdrs);
  Event* events = take_events(c);
  napi_value evs = events_to_js(env, events);
  free_events(events);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "error", error);
  napi_set_named_property(env, result, "batch", batch);
  napi_set_named_property(env, result, "events", evs);
  return result;
}

/* poll(handle, max) -> { error, batch, events }: what is already fetched, never waiting. */
static napi_value poll_consumer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Consumer* c = argc < 2 ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) return NULL;
  Consume k;
  memset(&k, 0, sizeof k);
  napi_get_value_uint32(env, argv[1], &k.max);
  fill(c, &k);
  napi_value result = poll_result(env, c, &k);
  free_consume(&k);
  return result;
}

/* ---------- blocking requests on a worker: metadata (connect), seek, close ---------- */

enum { REQ_METADATA = 1, REQ_SEEK = 2, REQ_CLOSE = 3 };

typedef struct Request {
  Consumer* c;
  int kind;
  int timeout_ms;
  rd_kafka_topic_partition_list_t* parts;
  int32_t err;
  napi_async_work work;
  napi_ref callback_ref;
} Request;

static void request_execute(napi_env env, void* data) {
  Request* r = data;
  Consumer* c = r->c;
  if (r->kind == REQ_CLOSE) {
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->closing, 1);
    while (c->busy > 0) pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
    /* No readable calls once the handle is going: the function is released
     * when this request completes. */
    if (c->queue != NULL) {
      rd_kafka_queue_cb_event_enable(c->queue, NULL, NULL);
      rd_kafka_queue_destroy(c->queue);
      c->queue = NULL;
    }
    /* Serves the final revocation through on_rebalance, which answers it itself now. */
    r->err = rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
    return;
  }
  if (!enter(c)) {
    r->err = RD_KAFKA_RESP_ERR__DESTROY;
    return;
  }
  if (r->kind == REQ_METADATA) {
    const struct rd_kafka_metadata* md = NULL;
    r->err = rd_kafka_metadata(c->rk, 0, NULL, &md, r->timeout_ms);
    if (md != NULL) rd_kafka_metadata_destroy(md);
  } else {
    rd_kafka_error_t* e = rd_kafka_seek_partitions(c->rk, r->parts, r->timeout_ms);
    if (e != NULL) {
      r->err = rd_kafka_error_code(e);
      rd_kafka_error_destroy(e);
    }
    for (int i = 0; r->err == 0 && i < r->parts->cnt; i++) r->err = r->parts->elems[i].err;
  }
  leave(c);
}

static void request_complete(napi_env env, napi_status status, void* data) {
  Request* r = data;
  napi_delete_async_work(env, r->work);
  if (r->parts != NULL) rd_kafka_topic_partition_list_destroy(r->parts);
  napi_value arg;
  if (r->err != 0) arg = kafka_error(env, r->err, rd_kafka_err2str(r->err));
  else napi_get_null(env, &arg);
  if (r->kind == REQ_CLOSE) {
    /* Log lines still queued are delivered before the finaliser frees the consumer. */
    napi_release_threadsafe_function(r->c->logs, napi_tsfn_release);
    napi_release_threadsafe_function(r->c->readable, napi_tsfn_release);
  }
  napi_ref cb = r->callback_ref;
  free(r);
  call_back(env, cb, 1, &arg);
}

static napi_value queue_request(napi_env env, Consumer* c, int kind, int timeout_ms,
                                rd_kafka_topic_partition_list_t* parts, napi_value cb) {
  Request* r = calloc(1, sizeof *r);
  if (r == NULL) {
    if (parts != NULL) rd_kafka_topic_partition_list_destroy(parts);
    napi_throw_error(env, NULL, "kafka-batch: out of memory");
    return NULL;
  }
  r->c = c;
  r->kind = kind;
  r->timeout_ms = timeout_ms;
  r->parts = parts;
  napi_create_reference(env, cb, 1, &r->callback_ref);
  napi_value name;
  napi_create_string_utf8(env, "marketflow-kafka-consumer-request", NAPI_AUTO_LENGTH, &name);
  NAPI_OK(env, napi_create_async_work(env, NULL, name, request_execute, request_complete, r, &r->work));
  NAPI_OK(env, napi_queue_async_work(env, r->work));
  return NULL;
}

/* metadata(handle, timeoutMs, cb(err)): one metadata round trip, what connect waits for. */
static napi_value metadata(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Consumer* c = argc < 3 ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) return NULL;
  int32_t timeout = 0;
  napi_get_value_int32(env, argv[1], &timeout);
  return queue_request(env, c, REQ_METADATA, timeout, NULL, argv[2]);
}

/* seek(handle, topics, partitions, offsets, timeoutMs, cb(err)) */
static napi_value seek(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Consumer* c = argc < 6 ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) return NULL;
  rd_kafka_topic_partition_list_t* parts = parts_of(env, argv[1], argv[2], argv[3]);
  if (parts == NULL) return NULL;
  int32_t timeout = 0;
  napi_get_value_int32(env, argv[4], &timeout);
  return queue_request(env, c, REQ_SEEK, timeout, parts, argv[5]);
}

/* close(handle, cb(err)): leave the group (answering the last revocation), destroy. Once. */
static napi_value close_consumer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Consumer* c = argc < 2 ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) return NULL;
  c->closed = 1;
  /* Keep the process alive until the close completes. */
  napi_ref_threadsafe_function(env, c->logs);
  return queue_request(env, c, REQ_CLOSE, 0, NULL, argv[1]);
}

/* ---------- synchronous calls on partitions ---------- */

enum { OP_ASSIGN, OP_UNASSIGN, OP_PAUSE, OP_RESUME, OP_STORE, OP_COMMIT };

/* op(handle, topics, partitions[, offsets]) — throws {code, message} on failure. */
static napi_value partitions_op(napi_env env, napi_callback_info info, int op) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int with_offsets = op == OP_STORE || op == OP_COMMIT;
  Consumer* c = argc < (size_t)(with_offsets ? 4 : 3) ? NULL : consumer_of(env, argv[0]);
  if (c == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, NULL, "kafka-batch: (handle, topics, partitions[, offsets])");
    return NULL;
  }
  rd_kafka_topic_partition_list_t* parts = parts_of(env, argv[1], argv[2], with_offsets ? argv[3] : NULL);
  if (parts == NULL) return NULL;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_error_t* e = NULL;
  switch (op) {
    case OP_ASSIGN: e = rd_kafka_incremental_assign(c->rk, parts); break;
    case OP_UNASSIGN: e = rd_kafka_incremental_unassign(c->rk, parts); break;
    case OP_PAUSE: err = rd_kafka_pause_partitions(c->rk, parts); break;
    case OP_RESUME: err = rd_kafka_resume_partitions(c->rk, parts); break;
    case OP_STORE: err = rd_kafka_offsets_store(c->rk, parts); break;
    /* Asynchronous: the broker's answer comes back as a "commit" event. */
    case OP_COMMIT: err = rd_kafka_commit(c->rk, parts, 1); break;
  }
  rd_kafka_topic_partition_list_destroy(parts);
  if (e != NULL) {
    throw_kafka(env, rd_kafka_error_code(e), rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw_kafka(env, err, rd_kafka_err2str(err));
  }
  return NULL;
}

static napi_value incremental_assign(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_ASSIGN); }
static napi_value incremental_unassign(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_UNASSIGN); }
static napi_value pause_partitions(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_PAUSE); }
static napi_value resume_partitions(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_RESUME); }
static napi_value offsets_store(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_STORE); }
static napi_value commit(napi_env env, napi_callback_info info) { return partitions_op(env, info, OP_COMMIT); }

void consumer_register(napi_env env, napi_value exports) {
  napi_value consumer;
  napi_create_object(env, &consumer);
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"subscribe", NULL, subscribe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, poll_consumer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"metadata", NULL, metadata, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seek", NULL, seek, NULL, NULL, NULL, napi_enumerable, NULL},
      {"incrementalAssign", NULL, incremental_assign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"incrementalUnassign", NULL, incremental_unassign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pause", NULL, pause_partitions, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resume", NULL, resume_partitions, NULL, NULL, NULL, napi_enumerable, NULL},
      {"offsetsStore", NULL, offsets_store, NULL, NULL, NULL, napi_enumerable, NULL},
      {"commit", NULL, commit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_consumer, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, consumer, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "consumer", consumer);
}
