{
  # Links against the librdkafka that @confluentinc/kafka-javascript built
  # (same soname, so the process loads one copy for both). The rpath is the
  # absolute directory resolved at build time: scripts/install.sh rebuilds this
  # addon after every npm install, so it cannot outlive the library it names.
  "variables": {
    "rdkafka_root": "<(module_root_dir)/../../node_modules/@confluentinc/kafka-javascript"
  },
  "targets": [
    {
      "target_name": "kafka_batch",
      "sources": ["src/module.c", "src/common.c", "src/producer.c", "src/consumer.c"],
      "include_dirs": ["<(rdkafka_root)/deps/librdkafka/src"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-ignored-qualifiers"],
      "libraries": [
        "<(rdkafka_root)/build/deps/librdkafka.so.1",
        "-lpthread",
        "-Wl,-rpath,<(rdkafka_root)/build/deps"
      ]
    }
  ]
}
