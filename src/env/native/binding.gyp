{
  "targets": [
    {
      "target_name": "tinynf_shm",
      "sources": ["shm.cc"],
      "cflags_cc": ["-O2", "-std=c++17"]
    }
  ]
}
