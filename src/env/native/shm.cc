// A SharedArrayBuffer over an mmap'd file, so BAR0 and DMA memory can be posted to worker_threads.
// map(fd, length, offset, writable, populateAndLock) -> SharedArrayBuffer (munmap'd when collected)
// addressOf(sab) -> virtual address of its first byte, as a Number (user-space addresses < 2^47)
// release(sab) -> replace the mapping under a buffer from map() by private anonymous zero pages (mmap MAP_FIXED), so
//                 the file (e.g. a VFIO device fd, whose mapping keeps the IOMMU group busy) is let go now rather
//                 than when the buffer is garbage-collected; later accesses through the buffer touch only those pages
#include <node.h>
#include <sys/mman.h>
#include <cerrno>
#include <cstring>
#include <string>

using namespace v8;

static void Throw(Isolate* iso, const std::string& msg) {
  iso->ThrowException(Exception::Error(String::NewFromUtf8(iso, msg.c_str()).ToLocalChecked()));
}

static void MapFile(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  Local<Context> ctx = iso->GetCurrentContext();
  int fd = args[0]->Int32Value(ctx).FromJust();
  size_t length = (size_t)args[1]->NumberValue(ctx).FromJust();
  off_t offset = (off_t)args[2]->NumberValue(ctx).FromJust();
  bool writable = args[3]->BooleanValue(iso);
  bool lock = args[4]->BooleanValue(iso);
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  int flags = MAP_SHARED | (lock ? (MAP_POPULATE | MAP_LOCKED) : 0);
  void* p = mmap(nullptr, length, prot, flags, fd, offset);
  if (p == MAP_FAILED) { Throw(iso, std::string("mmap failed: ") + strerror(errno)); return; }
  std::unique_ptr<BackingStore> store = SharedArrayBuffer::NewBackingStore(
      p, length, [](void* data, size_t len, void*) { munmap(data, len); }, nullptr);
  args.GetReturnValue().Set(SharedArrayBuffer::New(iso, std::move(store)));
}

static void AddressOf(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (!args[0]->IsSharedArrayBuffer()) { Throw(iso, "addressOf expects a SharedArrayBuffer"); return; }
  void* data = args[0].As<SharedArrayBuffer>()->GetBackingStore()->Data();
  args.GetReturnValue().Set(Number::New(iso, (double)(uintptr_t)data));
}

static void Release(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (!args[0]->IsSharedArrayBuffer()) { Throw(iso, "release expects a SharedArrayBuffer"); return; }
  std::shared_ptr<BackingStore> store = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  void* p = mmap(store->Data(), store->ByteLength(), PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { Throw(iso, std::string("mmap (release) failed: ") + strerror(errno)); return; }
}

static void Init(Local<Object> exports) {
  NODE_SET_METHOD(exports, "release", Release);
  NODE_SET_METHOD(exports, "map", MapFile);
  NODE_SET_METHOD(exports, "addressOf", AddressOf);
}

NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
