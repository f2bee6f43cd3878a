{
  "targets": [
    {
      "target_name": "natlens_bpf_object",
      "type": "none",
      "actions": [
        {
          "action_name": "compile_bpf",
          "inputs": [
            "build-bpf.sh",
            "../bpf/natlens.bpf.c",
            "../bpf/event.h",
            "../bpf/maps.h",
            "../bpf/conntrack.h",
            "../bpf/netfilter_hook.h",
            "../bpf/nat_fexit.h",
            "../bpf/drops.h"
          ],
          "outputs": ["<(PRODUCT_DIR)/natlens.bpf.o"],
          "action": ["sh", "<(module_root_dir)/build-bpf.sh", "<(PRODUCT_DIR)"]
        }
      ]
    },
    {
      "target_name": "natlens_ebpf",
      "dependencies": ["natlens_bpf_object", "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "sources": ["src/ebpf_loader.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../bpf"],
      "libraries": ["-lbpf"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
