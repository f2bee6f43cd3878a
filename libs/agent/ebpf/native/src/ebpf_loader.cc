// The eBPF loader for Node.js on Debian's libbpf: opens natlens.bpf.o, loads the programs this kernel allows, attaches
// them, and hands ring-buffer records to JavaScript in batches (one Buffer of fixed-size records per wake). Decoding
// stays in TypeScript (src/decode-events.ts); this file moves bytes and reports errors, never takes the process down.
//
// Reads are driven by libuv on the main thread: a uv_poll on the ring buffer's epoll fd (the BPF side wakes us only
// when a batch is waiting) and a uv_timer that reads whatever is there every poll interval.

#include <napi.h>
#include <uv.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <string>
#include <vector>

#include "event.h"

namespace {

// Newer than Debian's uapi headers (kernel 6.4): include/uapi/linux/bpf.h.
constexpr int kProgTypeNetfilter = 32;  // BPF_PROG_TYPE_NETFILTER
constexpr int kAttachNetfilter = 45;    // BPF_NETFILTER
// include/uapi/linux/netfilter.h
constexpr uint32_t kNfprotoIPv4 = 2;
constexpr uint32_t kNfprotoIPv6 = 10;
constexpr uint32_t kNfInetLocalIn = 1;
constexpr uint32_t kNfInetPostRouting = 4;

// libbpf's messages (verifier logs included) for the error of the call that failed: the last 8 KiB.
std::string g_libbpf_log;
int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (n > 0) g_libbpf_log.append(line, std::min<size_t>(static_cast<size_t>(n), sizeof(line) - 1));
  if (g_libbpf_log.size() > 8192) g_libbpf_log.erase(0, g_libbpf_log.size() - 8192);
  return 0;
}

bool g_netfilter_registered = false;
void RegisterNetfilterSection() {
  if (g_netfilter_registered) return;
  g_netfilter_registered = true;
  libbpf_set_print(LibbpfPrint);
  // libbpf 1.1 knows no SEC("netfilter"); teach it the program and attach type (libbpf >= 1.2 knows it itself,
  // and a custom handler takes precedence there too).
  libbpf_register_prog_handler("netfilter", static_cast<enum bpf_prog_type>(kProgTypeNetfilter),
                               static_cast<enum bpf_attach_type>(kAttachNetfilter), nullptr);
}

// BPF_LINK_CREATE for a netfilter program, by hand: libbpf 1.1's bpf_link_create() has no netfilter options.
// Layout of union bpf_attr's link_create: prog_fd, target_fd, attach_type, flags, then netfilter {pf, hooknum,
// priority, flags} (include/uapi/linux/bpf.h, 6.4+).
int NetfilterLinkCreate(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  uint32_t words[8] = {static_cast<uint32_t>(prog_fd), 0, static_cast<uint32_t>(kAttachNetfilter), 0, pf, hooknum,
                       static_cast<uint32_t>(priority), 0};
  static_assert(sizeof(words) <= sizeof(attr), "bpf_attr too small");
  memcpy(&attr, words, sizeof(words));
  return static_cast<int>(syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr)));
}

class EbpfProgram : public Napi::ObjectWrap<EbpfProgram> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "EbpfProgram", {
      InstanceMethod("start", &EbpfProgram::Start),
      InstanceMethod("stop", &EbpfProgram::Stop),
      InstanceMethod("close", &EbpfProgram::Close),
      InstanceMethod("setServicePorts", &EbpfProgram::SetServicePorts),
      InstanceMethod("namespaceCounters", &EbpfProgram::NamespaceCounters),
      InstanceMethod("stats", &EbpfProgram::Stats),
      InstanceMethod("attachments", &EbpfProgram::Attachments),
    });
    exports.Set("EbpfProgram", ctor);
    exports.Set("eventSize", Napi::Number::New(env, sizeof(struct natlens_event)));
    return exports;
  }

  // new EbpfProgram(objectPath, { mode: 'netfilter' | 'fexit', drops: boolean, netns, ringBufferBytes,
  //                               wakeupBytes, priority })
  explicit EbpfProgram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EbpfProgram>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      Napi::TypeError::New(env, "EbpfProgram(objectPath, options): a path and an options object expected").ThrowAsJavaScriptException();
      return;
    }
    RegisterNetfilterSection();
    g_libbpf_log.clear();
    std::string path = info[0].As<Napi::String>();
    Napi::Object options = info[1].As<Napi::Object>();
    std::string mode = options.Get("mode").ToString();
    bool drops = options.Get("drops").ToBoolean();
    uint32_t netns = options.Get("netns").ToNumber().Uint32Value();
    uint32_t ring_bytes = options.Get("ringBufferBytes").ToNumber().Uint32Value();
    uint32_t wakeup_bytes = options.Get("wakeupBytes").ToNumber().Uint32Value();
    int32_t priority = options.Get("priority").ToNumber().Int32Value();
    if (mode != "netfilter" && mode != "fexit") {
      Napi::TypeError::New(env, "options.mode: 'netfilter' or 'fexit' expected").ThrowAsJavaScriptException();
      return;
    }

    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (libbpf_get_error(obj_)) {
      int err = -static_cast<int>(libbpf_get_error(obj_));
      obj_ = nullptr;
      Fail(env, "open", err, "cannot open " + path);
      return;
    }
    struct bpf_program* nf = bpf_object__find_program_by_name(obj_, "natlens_netfilter");
    struct bpf_program* fexit = bpf_object__find_program_by_name(obj_, "natlens_nat_setup");
    struct bpf_program* kfree = bpf_object__find_program_by_name(obj_, "natlens_kfree_skb");
    struct bpf_map* events = bpf_object__find_map_by_name(obj_, "events");
    if (!nf || !fexit || !kfree || !events) {
      Fail(env, "open", ENOENT, path + " lacks a program or map this loader expects (rebuild it: npm install)");
      return;
    }
    // Only the programs of the chosen mode are loaded: one the kernel refuses would fail the whole object.
    bpf_program__set_autoload(nf, mode == "netfilter");
    bpf_program__set_autoload(fexit, mode == "fexit");
    bpf_program__set_autoload(kfree, drops);
    if (ring_bytes > 0) bpf_map__set_max_entries(events, ring_bytes);
    int err = bpf_object__load(obj_);
    if (err) {
      Fail(env, "load", -err, "the kernel refused the " + mode + " programs");
      return;
    }

    struct natlens_config cfg = {};
    cfg.netns = netns;
    cfg.wakeup_bytes = wakeup_bytes;
    uint32_t key = 0;
    int settings_fd = bpf_object__find_map_fd_by_name(obj_, "settings");
    if (bpf_map_update_elem(settings_fd, &key, &cfg, BPF_ANY) < 0) {
      Fail(env, "configure", errno, "cannot write the settings map");
      return;
    }
    ports_fd_ = bpf_object__find_map_fd_by_name(obj_, "svc_ports");
    counters_fd_ = bpf_object__find_map_fd_by_name(obj_, "ns_counters");

    if (mode == "netfilter") {
      int prog_fd = bpf_program__fd(nf);
      const uint32_t hooks[2] = {kNfInetPostRouting, kNfInetLocalIn};
      const uint32_t families[2] = {kNfprotoIPv4, kNfprotoIPv6};
      for (uint32_t pf : families) {
        for (uint32_t hook : hooks) {
          int fd = NetfilterLinkCreate(prog_fd, pf, hook, priority);
          std::string name = std::string(pf == kNfprotoIPv4 ? "ipv4" : "ipv6") + "/" +
                             (hook == kNfInetLocalIn ? "local-in" : "post-routing");
          if (fd < 0) {
            int link_err = errno;
            // IPv6 may be off in this namespace or kernel; IPv4 is what Services need first.
            if (pf == kNfprotoIPv6) {
              skipped_.push_back(name + ": " + strerror(link_err));
              continue;
            }
            Fail(env, "attach", link_err, "cannot link the netfilter program at " + name);
            return;
          }
          link_fds_.push_back(fd);
          attached_.push_back("netfilter " + name + " priority " + std::to_string(priority));
        }
      }
    } else {
      struct bpf_link* link = bpf_program__attach(fexit);
      if (libbpf_get_error(link)) {
        Fail(env, "attach", -static_cast<int>(libbpf_get_error(link)), "cannot attach fexit to nf_nat_setup_info");
        return;
      }
      links_.push_back(link);
      attached_.push_back("fexit nf_nat_setup_info");
    }
    if (drops) {
      struct bpf_link* link = bpf_program__attach(kfree);
      if (libbpf_get_error(link)) {
        Fail(env, "attach", -static_cast<int>(libbpf_get_error(link)), "cannot attach tp_btf/kfree_skb");
        return;
      }
      links_.push_back(link);
      attached_.push_back("tp_btf kfree_skb");
    }
    ring_ = ring_buffer__new(bpf_map__fd(events), &EbpfProgram::OnRecord, this, nullptr);
    if (!ring_) {
      Fail(env, "ring-buffer", errno, "cannot map the ring buffer");
      return;
    }
  }

  ~EbpfProgram() override { Release(); }

 private:
  // Throws an Error with stage, errno and libbpf's own words, and frees what was made so far.
  void Fail(Napi::Env env, const std::string& stage, int err, const std::string& what) {
    std::string message = what + ": " + strerror(err);
    Napi::Error e = Napi::Error::New(env, message);
    e.Set("stage", Napi::String::New(env, stage));
    e.Set("errno", Napi::Number::New(env, err));
    e.Set("libbpfLog", Napi::String::New(env, g_libbpf_log));
    Release();
    e.ThrowAsJavaScriptException();
  }

  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<EbpfProgram*>(ctx);
    if (size != sizeof(struct natlens_event)) {
      self->malformed_++;
      return 0;
    }
    const auto* bytes = static_cast<const uint8_t*>(data);
    self->batch_.insert(self->batch_.end(), bytes, bytes + size);
    return 0;
  }

  // start(onEvents(buffer, count), onError(errno, message), pollIntervalMs)
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!ring_ || polling_) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "start(onEvents, onError, pollIntervalMs): two functions and a number expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    on_events_ = Napi::Persistent(info[0].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[1].As<Napi::Function>());
    uint64_t interval = info[2].As<Napi::Number>().Uint32Value();
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    uv_poll_init(loop, poll_, ring_buffer__epoll_fd(ring_));
    uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* h, int, int) { static_cast<EbpfProgram*>(h->data)->Drain(true); });
    timer_ = new uv_timer_t;
    timer_->data = this;
    uv_timer_init(loop, timer_);
    uv_timer_start(timer_, [](uv_timer_t* h) { static_cast<EbpfProgram*>(h->data)->Drain(false); }, interval, interval);
    polling_ = true;
    Ref();  // stay alive while libuv holds pointers to us
    return env.Undefined();
  }

  void Drain(bool woken) {
    if (!ring_ || !polling_) return;
    Napi::Env env = on_events_.Env();
    Napi::HandleScope scope(env);
    if (woken) {
      wakeups_++;
      // Clear the epoll readiness; the records are read by ring_buffer__consume below.
      ring_buffer__poll(ring_, 0);
    }
    int n = ring_buffer__consume(ring_);
    if (n < 0) {
      CallFn(on_error_, {Napi::Number::New(env, -n), Napi::String::New(env, strerror(-n))});
      return;
    }
    if (batch_.empty()) return;
    size_t count = batch_.size() / sizeof(struct natlens_event);
    events_ += count;
    batches_++;
    Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::Copy(env, batch_.data(), batch_.size());
    batch_.clear();
    CallFn(on_events_, {buffer, Napi::Number::New(env, static_cast<double>(count))});
  }

  void CallFn(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
    Napi::Env env = fn.Env();
    fn.Call(env.Global(), args);
    if (env.IsExceptionPending()) {
      // A throwing JS callback must not unwind through libuv; surface it as an uncaught exception instead.
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());
    }
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  void StopPolling() {
    if (!polling_) return;
    polling_ = false;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
    Unref();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    Release();
    return info.Env().Undefined();
  }

  // Detaching happens by closing the links: the kernel unhooks a netfilter link when its last fd closes.
  void Release() {
    if (ring_) {
      ring_buffer__free(ring_);
      ring_ = nullptr;
    }
    for (int fd : link_fds_) close(fd);
    link_fds_.clear();
    for (struct bpf_link* link : links_) bpf_link__destroy(link);
    links_.clear();
    if (obj_) {
      bpf_object__close(obj_);
      obj_ = nullptr;
    }
    ports_fd_ = -1;
    counters_fd_ = -1;
  }

  // setServicePorts(keys: number[]) with key = protocol << 16 | port: replaces the whole set.
  Napi::Value SetServicePorts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ports_fd_ < 0 || info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "setServicePorts(keys[]) on an open program expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array keys = info[0].As<Napi::Array>();
    std::vector<uint32_t> wanted;
    for (uint32_t i = 0; i < keys.Length(); i++) wanted.push_back(keys.Get(i).ToNumber().Uint32Value());
    std::vector<uint32_t> present;
    uint32_t cursor = 0, next = 0;
    bool first = true;
    while (bpf_map_get_next_key(ports_fd_, first ? nullptr : &cursor, &next) == 0) {
      present.push_back(next);
      cursor = next;
      first = false;
    }
    for (uint32_t k : present) bpf_map_delete_elem(ports_fd_, &k);
    uint8_t one = 1;
    for (uint32_t k : wanted) {
      if (bpf_map_update_elem(ports_fd_, &k, &one, BPF_ANY) < 0) {
        Napi::Error::New(env, std::string("svc_ports update: ") + strerror(errno)).ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    return Napi::Number::New(env, static_cast<double>(wanted.size()));
  }

  Napi::Value NamespaceCounters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (counters_fd_ < 0) return out;
    uint32_t cursor = 0, next = 0;
    bool first = true;
    uint32_t i = 0;
    while (bpf_map_get_next_key(counters_fd_, first ? nullptr : &cursor, &next) == 0) {
      struct natlens_ns_counters c = {};
      if (bpf_map_lookup_elem(counters_fd_, &next, &c) == 0) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("netns", Napi::Number::New(env, next));
        o.Set("connections", Napi::Number::New(env, static_cast<double>(c.connections)));
        o.Set("ends", Napi::Number::New(env, static_cast<double>(c.ends)));
        o.Set("drops", Napi::Number::New(env, static_cast<double>(c.drops)));
        o.Set("ringBufferFull", Napi::Number::New(env, static_cast<double>(c.ringbuf_full)));
        out.Set(i++, o);
      }
      cursor = next;
      first = false;
    }
    return out;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("events", Napi::Number::New(env, static_cast<double>(events_)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    o.Set("wakeups", Napi::Number::New(env, static_cast<double>(wakeups_)));
    o.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed_)));
    return o;
  }

  Napi::Value Attachments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array attached = Napi::Array::New(env, attached_.size());
    for (size_t i = 0; i < attached_.size(); i++) attached.Set(static_cast<uint32_t>(i), attached_[i]);
    Napi::Array skipped = Napi::Array::New(env, skipped_.size());
    for (size_t i = 0; i < skipped_.size(); i++) skipped.Set(static_cast<uint32_t>(i), skipped_[i]);
    o.Set("attached", attached);
    o.Set("skipped", skipped);
    return o;
  }

  struct bpf_object* obj_ = nullptr;
  struct ring_buffer* ring_ = nullptr;
  std::vector<int> link_fds_;
  std::vector<struct bpf_link*> links_;
  std::vector<std::string> attached_;
  std::vector<std::string> skipped_;
  int ports_fd_ = -1;
  int counters_fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  bool polling_ = false;
  std::vector<uint8_t> batch_;
  uint64_t events_ = 0;
  uint64_t batches_ = 0;
  uint64_t wakeups_ = 0;
  uint64_t malformed_ = 0;
  Napi::FunctionReference on_events_;
  Napi::FunctionReference on_error_;
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return EbpfProgram::Init(env, exports); }

NODE_API_MODULE(natlens_ebpf, InitAll)
