// A netlink socket for Node.js on libmnl, with one job: move datagrams between the kernel and JavaScript without
// ever taking the process down. The `netlink` npm package aborts Node when recv() fails with ENOBUFS (the kernel
// dropped events because our receive buffer was full); here ENOBUFS is an ordinary, counted event that JavaScript
// answers with a resynchronising dump. Parsing stays in TypeScript: this file only reads and writes bytes.
//
// Reads are driven by libuv (uv_poll on the socket's fd) on the main thread: each readiness callback drains up to
// kMaxDatagramsPerWake datagrams with MSG_DONTWAIT and hands them to JavaScript in one call, so a busy table costs one
// JS transition per batch, not per event. The datagrams of a wake are packed into one Buffer (each padded to 4 bytes,
// netlink's alignment) with their lengths alongside: one allocation per wake instead of one per event, which at
// thousands of events a second is garbage the agent would otherwise collect.

#include <napi.h>
#include <uv.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <cerrno>
#include <cstring>
#include <vector>

namespace {

// 64 KiB: a dump reply datagram may carry many conntrack entries; the kernel never sends more than this in one.
constexpr size_t kReceiveBufferBytes = 65536;
// Bound the work of one libuv wake so a flood cannot starve timers and HTTP in the same loop.
constexpr int kMaxDatagramsPerWake = 512;

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NetlinkSocket", {
      InstanceMethod("send", &NetlinkSocket::Send),
      InstanceMethod("start", &NetlinkSocket::Start),
      InstanceMethod("stop", &NetlinkSocket::Stop),
      InstanceMethod("close", &NetlinkSocket::Close),
      InstanceMethod("stats", &NetlinkSocket::Stats),
      InstanceMethod("portId", &NetlinkSocket::PortId),
    });
    exports.Set("NetlinkSocket", ctor);
    return exports;
  }

  // new NetlinkSocket(protocol, groups, receiveBufferBytes)
  explicit NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "NetlinkSocket(protocol, groups, receiveBufferBytes): three numbers expected")
          .ThrowAsJavaScriptException();
      return;
    }
    int protocol = info[0].As<Napi::Number>().Int32Value();
    unsigned groups = info[1].As<Napi::Number>().Uint32Value();
    int rcvbuf = info[2].As<Napi::Number>().Int32Value();

    nl_ = mnl_socket_open(protocol);
    if (nl_ == nullptr) {
      ThrowErrno(env, "mnl_socket_open");
      return;
    }
    if (mnl_socket_bind(nl_, groups, MNL_SOCKET_AUTOPID) < 0) {
      ThrowErrno(env, "mnl_socket_bind");
      return;
    }
    int fd = mnl_socket_get_fd(nl_);
    // SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back to the capped SO_RCVBUF.
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
      forced_buffer_ = false;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    socklen_t len = sizeof(effective_buffer_);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective_buffer_, &len);
    buffer_.resize(kReceiveBufferBytes);
    packed_.reserve(kReceiveBufferBytes);
  }

  ~NetlinkSocket() override { CloseSocket(); }

 private:
  void ThrowErrno(Napi::Env env, const char* what) {
    int err = errno;
    Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + strerror(err));
    e.Set("errno", Napi::Number::New(env, err));
    e.ThrowAsJavaScriptException();
    CloseSocket();
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (nl_ == nullptr) {
      Napi::Error::New(env, "send: socket is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      Napi::TypeError::New(env, "send(buffer): a Buffer expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    if (mnl_socket_sendto(nl_, buf.Data(), buf.Length()) < 0) ThrowErrno(env, "mnl_socket_sendto");
    return env.Undefined();
  }

  // start(onDatagrams(buffers[]), onError(errno, message))
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (nl_ == nullptr || polling_) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "start(onDatagrams, onError): two functions expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    on_datagrams_ = Napi::Persistent(info[0].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    uv_poll_init(loop, poll_, mnl_socket_get_fd(nl_));
    uv_poll_start(poll_, UV_READABLE, &NetlinkSocket::OnReadable);
    polling_ = true;
    Ref();  // stay alive while libuv holds a pointer to us
    return env.Undefined();
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<NetlinkSocket*>(handle->data);
    self->Drain(status);
  }

  void Drain(int status) {
    Napi::Env env = on_datagrams_.Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      // libuv turns POLLERR into UV_EBADF and stops the handle. On a netlink socket POLLERR means the kernel set
      // sk_err (ENOBUFS after an overrun), which the recv() below reads and clears: restart polling and drain.
      if (polling_ && nl_ != nullptr) uv_poll_start(poll_, UV_READABLE, &NetlinkSocket::OnReadable);
    }
    packed_.clear();
    lengths_.clear();
    int lost_errno = 0;
    for (int i = 0; i < kMaxDatagramsPerWake && nl_ != nullptr; i++) {
      ssize_t n = recv(mnl_socket_get_fd(nl_), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          // The kernel dropped messages for us; the socket stays usable. Report and keep reading.
          enobufs_++;
          lost_errno = ENOBUFS;
          continue;
        }
        lost_errno = errno;
        break;
      }
      received_datagrams_++;
      received_bytes_ += static_cast<double>(n);
      packed_.insert(packed_.end(), buffer_.data(), buffer_.data() + n);
      packed_.resize((packed_.size() + 3) & ~static_cast<size_t>(3), 0);  // NLMSG_ALIGN: the next datagram starts aligned
      lengths_.push_back(static_cast<uint32_t>(n));
    }
    if (!lengths_.empty()) {
      Napi::Buffer<uint8_t> packed = Napi::Buffer<uint8_t>::Copy(env, packed_.data(), packed_.size());
      Napi::Array lengths = Napi::Array::New(env, lengths_.size());
      for (size_t i = 0; i < lengths_.size(); i++) lengths.Set(static_cast<uint32_t>(i), Napi::Number::New(env, lengths_[i]));
      Call(on_datagrams_, {packed, lengths});
    }
    if (lost_errno != 0) CallError(env, lost_errno, strerror(lost_errno));
  }

  void Call(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
    Napi::Env env = fn.Env();
    fn.Call(env.Global(), args);
    if (env.IsExceptionPending()) {
      // A throwing JS callback must not unwind through libuv; surface it as an uncaught exception instead.
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());
    }
  }

  void CallError(Napi::Env env, int err, const char* message) {
    Call(on_error_, {Napi::Number::New(env, err), Napi::String::New(env, message)});
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
    Unref();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    CloseSocket();
    return info.Env().Undefined();
  }

  void CloseSocket() {
    if (nl_ != nullptr) {
      mnl_socket_close(nl_);
      nl_ = nullptr;
    }
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("enobufs", Napi::Number::New(env, static_cast<double>(enobufs_)));
    o.Set("receivedDatagrams", Napi::Number::New(env, static_cast<double>(received_datagrams_)));
    o.Set("receivedBytes", Napi::Number::New(env, received_bytes_));
    o.Set("receiveBufferBytes", Napi::Number::New(env, effective_buffer_));
    o.Set("receiveBufferForced", Napi::Boolean::New(env, forced_buffer_));
    return o;
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), nl_ ? mnl_socket_get_portid(nl_) : 0);
  }

  struct mnl_socket* nl_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  std::vector<uint8_t> packed_;
  std::vector<uint32_t> lengths_;
  bool forced_buffer_ = true;
  int effective_buffer_ = 0;
  uint64_t enobufs_ = 0;
  uint64_t received_datagrams_ = 0;
  double received_bytes_ = 0;
  std::vector<uint8_t> buffer_;
  Napi::FunctionReference on_datagrams_;
  Napi::FunctionReference on_error_;
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return NetlinkSocket::Init(env, exports); }

NODE_API_MODULE(natlens_netlink, InitAll)
