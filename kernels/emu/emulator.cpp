// The kernel emulator: kernels/cuda compiled for the host, unchanged, and run the way a GPU runs them.
//
// build.rs compiles this file (which includes zkr_kernels.cu after cuda_host.h) into a shared library that
// src/gpu/emulator.rs loads; src/gpu/device.rs then drives it exactly as it drives a CUDA device: same buffer sizes,
// same launch shapes, same kernel parameters. What it models:
//
// - A launch runs every block of the grid; blocks are spread over worker threads (host threads), each running one
//   block at a time. Device atomics are host atomics, so blocks really do race.
// - Within a block, a kernel that synchronises (__syncthreads, __shfl_up_sync) runs each CUDA thread on its own fiber
//   (ucontext). A barrier suspends the fiber; once every live thread of the block (warp) has arrived, all resume.
//   A thread that ends while others wait at a warp exchange, or threads waiting at different barriers, is a deadlock
//   on a GPU too: the launch fails with an error. Kernels without barriers run their threads one after another.
// - Threads run in index order, or in reverse order (a launch option), so results that depend on the order threads
//   happen to run in show up as differences between the two.
// - Launch limits are checked as the driver checks them: block size against the kernel's __launch_bounds__, grid
//   dimensions against the hardware's.
// - Device memory is host memory with a PROT_NONE guard page on each side, the buffer ending exactly at the upper
//   guard page, so a kernel that reads or writes past the end of a buffer faults. In the sanitizer build (ASan, UBSan)
//   buffers come from malloc instead, so ASan's redzones catch overruns in both directions.
#include "cuda_host.h"

#include "../cuda/zkr_kernels.cu"

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define ZKR_EMU_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif

#define ZKR_EMU_API extern "C" __attribute__((visibility("default")))

namespace zkr_emu {

thread_local ThreadVars vars;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// The kernel table: name, entry, the __launch_bounds__ of the source, and whether the kernel synchronises.
// ---------------------------------------------------------------------------------------------------------------

// Calls `f` with parameters given as cuLaunchKernel takes them: params[i] points at the i-th argument's value.
template <class... A, std::size_t... I>
void call_with(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<A>*>(params[I])...);
}

template <class... A>
void call(void (*f)(A...), void** params) {
    call_with(f, params, std::index_sequence_for<A...>{});
}

struct Kernel {
    const char* name;
    void (*invoke)(void** params);
    unsigned max_threads;  // __launch_bounds__
    bool barriers;         // calls __syncthreads or __shfl_up_sync
};

#define ZKR_EMU_KERNEL(fn, bound, barriers) Kernel{#fn, [](void** p) { call(fn, p); }, bound, barriers}

const Kernel KERNELS[] = {
    ZKR_EMU_KERNEL(zkr_scan_blocks, ZKR_SCAN_BLOCK, true),
    ZKR_EMU_KERNEL(zkr_scan_add, ZKR_SCAN_BLOCK, false),
    ZKR_EMU_KERNEL(zkr_msm_digits, 256, false),
    ZKR_EMU_KERNEL(zkr_msm_scatter, 256, false),
    ZKR_EMU_KERNEL(zkr_msm_task_count, 256, false),
    ZKR_EMU_KERNEL(zkr_msm_accumulate, 128, false),
    ZKR_EMU_KERNEL(zkr_msm_bucket_sum, 128, false),
    ZKR_EMU_KERNEL(zkr_msm_reduce_segments, 128, false),
    ZKR_EMU_KERNEL(zkr_msm_window_chunks, 128, false),
    ZKR_EMU_KERNEL(zkr_msm_window_sum, ZKR_WINDOW_SUM_THREADS, true),
    ZKR_EMU_KERNEL(zkr_msm_combine, 32, false),
    ZKR_EMU_KERNEL(zkr_ntt_twiddles, 256, false),
    ZKR_EMU_KERNEL(zkr_ntt_bit_reverse, 256, false),
    ZKR_EMU_KERNEL(zkr_ntt_pass, ZKR_NTT_TILE / 2, true),
    ZKR_EMU_KERNEL(zkr_ntt_scale, 256, false),
};
constexpr int KERNEL_COUNT = sizeof(KERNELS) / sizeof(KERNELS[0]);

// Hardware limits the driver enforces at launch (compute capability 9.0).
constexpr unsigned MAX_BLOCK_THREADS = 1024;
constexpr unsigned MAX_GRID_X = 0x7fffffffu;
constexpr unsigned MAX_GRID_Y = 65535;
constexpr unsigned WARP = 32;

// ---------------------------------------------------------------------------------------------------------------
// Fibers
// ---------------------------------------------------------------------------------------------------------------

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

// Stack per emulated thread. The kernels keep a few field elements and points in locals (a few KiB with the
// sanitizers' redzones). Kept small: ASan clears the shadow of the whole stack at every switch to a fiber.
constexpr std::size_t FIBER_STACK = 64 * 1024;

// A fiber is entered the first time with swapcontext (makecontext is the portable way onto a new stack); after that
// the plain build switches with _setjmp/_longjmp, which save no signal mask and so make no system call (swapcontext
// makes one per switch, which made synchronising kernels twenty times slower). The sanitizer build switches with
// swapcontext throughout, which ASan understands, annotated for ASan's fake stacks.
struct Fiber {
    ucontext_t context;
    jmp_buf jump;
    bool started = false;
    char* stack = nullptr;
    unsigned index = 0;
    State state = State::Done;
};

// One worker's state while it runs a block.
struct Worker {
    const Kernel* kernel = nullptr;
    void** params = nullptr;
    ucontext_t scheduler;
    jmp_buf scheduler_jump;
    std::vector<Fiber> fibers;
    char* stacks = nullptr;
    std::size_t stacks_len = 0;
    Fiber* current = nullptr;
    unsigned warp_slots[MAX_BLOCK_THREADS];
#ifdef ZKR_EMU_ASAN
    const void* scheduler_stack = nullptr;
    std::size_t scheduler_stack_size = 0;
#endif

    ~Worker() {
        if (stacks != nullptr) munmap(stacks, stacks_len);
    }

    bool reserve_stacks(unsigned threads) {
        const std::size_t need = std::size_t{threads} * FIBER_STACK;
        if (stacks_len >= need) return true;
        if (stacks != nullptr) munmap(stacks, stacks_len);
        // Reserved, not committed: only the pages a fiber touches are backed.
        void* p = mmap(nullptr, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            stacks = nullptr;
            stacks_len = 0;
            return false;
        }
        stacks = static_cast<char*>(p);
        stacks_len = need;
        return true;
    }
};

thread_local Worker* worker = nullptr;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "zkr kernel emulator: %s\n", what);
    std::abort();
}

// Switches from the running fiber back to the worker's scheduler.
void yield_to_scheduler(Fiber* f) {
    Worker* w = worker;
#ifdef ZKR_EMU_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, w->scheduler_stack, w->scheduler_stack_size);
    swapcontext(&f->context, &w->scheduler);
    __sanitizer_finish_switch_fiber(fake_stack, &w->scheduler_stack, &w->scheduler_stack_size);
#else
    if (_setjmp(f->jump) == 0) _longjmp(w->scheduler_jump, 1);
#endif
}

void fiber_main() {
    Worker* w = worker;
    Fiber* f = w->current;
#ifdef ZKR_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &w->scheduler_stack, &w->scheduler_stack_size);
#endif
    w->kernel->invoke(w->params);
    f->state = State::Done;
#ifdef ZKR_EMU_ASAN
    // This fiber never runs again: let ASan drop its fake stack.
    __sanitizer_start_switch_fiber(nullptr, w->scheduler_stack, w->scheduler_stack_size);
    setcontext(&w->scheduler);
    die("setcontext returned");
#else
    _longjmp(w->scheduler_jump, 1);
#endif
}

void resume(Worker* w, Fiber* f, const Dim3& block_dim) {
    w->current = f;
    vars.thread_idx = Dim3{f->index % block_dim.x, 0, 0};
#ifdef ZKR_EMU_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, f->stack, FIBER_STACK);
    swapcontext(&w->scheduler, &f->context);
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
    if (_setjmp(w->scheduler_jump) == 0) {
        if (!f->started) {
            f->started = true;
            // Never resumed: the fiber comes back with _longjmp to scheduler_jump.
            ucontext_t unused;
            swapcontext(&unused, &f->context);
        }
        _longjmp(f->jump, 1);
    }
#endif
    w->current = nullptr;
}

Fiber* current_fiber(const char* primitive) {
    Worker* w = worker;
    if (w == nullptr || w->current == nullptr) {
        std::string msg = std::string("kernel ") + (w && w->kernel ? w->kernel->name : "?") + " calls " + primitive +
                          " but its entry in the emulator's kernel table says it has no barriers";
        die(msg.c_str());
    }
    return w->current;
}

// Runs one block whose threads synchronise: one fiber per thread, round-robin between barriers.
bool run_block_on_fibers(Worker* w, unsigned threads, bool reverse, std::string& error) {
    if (!w->reserve_stacks(threads)) {
        error = "cannot reserve fiber stacks";
        return false;
    }
    w->fibers.resize(threads);
    for (unsigned i = 0; i < threads; i++) {
        Fiber& f = w->fibers[i];
        f.index = i;
        f.stack = w->stacks + std::size_t{i} * FIBER_STACK;
        f.state = State::Runnable;
        f.started = false;
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack;
        f.context.uc_stack.ss_size = FIBER_STACK;
        f.context.uc_link = nullptr;
        makecontext(&f.context, fiber_main, 0);
    }
    const Dim3 block_dim = vars.block_dim;
    unsigned live = threads;
    while (live > 0) {
        for (unsigned k = 0; k < threads; k++) {
            Fiber& f = w->fibers[reverse ? threads - 1 - k : k];
            if (f.state != State::Runnable) continue;
            resume(w, &f, block_dim);
            if (f.state == State::Done) live--;
        }
        if (live == 0) break;
        // Every live thread now waits at a barrier. Release whole warps waiting at an exchange first, then the
        // block when every live thread waits at __syncthreads.
        bool released = false;
        for (unsigned first = 0; first < threads; first += WARP) {
            const unsigned end = first + WARP < threads ? first + WARP : threads;
            bool any = false, all = true;
            for (unsigned i = first; i < end; i++) {
                const State s = w->fibers[i].state;
                any |= s == State::AtWarpBarrier;
                all &= s == State::AtWarpBarrier;
            }
            if (any && all) {
                for (unsigned i = first; i < end; i++) w->fibers[i].state = State::Runnable;
                released = true;
            }
        }
        if (!released) {
            bool all = true;
            for (const Fiber& f : w->fibers) all &= f.state == State::AtBlockBarrier || f.state == State::Done;
            if (all) {
                for (Fiber& f : w->fibers)
                    if (f.state == State::AtBlockBarrier) f.state = State::Runnable;
                released = true;
            }
        }
        if (!released) {
            error = std::string("kernel ") + w->kernel->name +
                    ": threads of a block wait at different barriers, or a warp exchange misses lanes that ended "
                    "(a deadlock on a GPU)";
            return false;
        }
    }
    return true;
}

void run_block(Worker* w, unsigned threads, bool reverse, std::string& error, bool& ok) {
    if (w->kernel->barriers) {
        ok = run_block_on_fibers(w, threads, reverse, error);
        return;
    }
    w->current = nullptr;
    for (unsigned k = 0; k < threads; k++) {
        vars.thread_idx = Dim3{reverse ? threads - 1 - k : k, 0, 0};
        w->kernel->invoke(w->params);
    }
    ok = true;
}

#ifndef ZKR_EMU_ASAN
std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }
#endif

void write_error(char* out, std::size_t len, const std::string& msg) {
    if (out == nullptr || len == 0) return;
    std::snprintf(out, len, "%s", msg.c_str());
}

}  // namespace

void sync_block() {
    Fiber* f = current_fiber("__syncthreads");
    f->state = State::AtBlockBarrier;
    yield_to_scheduler(f);
}

unsigned int shfl_up(unsigned int mask, unsigned int value, unsigned int delta) {
    Fiber* f = current_fiber("__shfl_up_sync");
    if (mask != 0xffffffffu) die("__shfl_up_sync with a partial mask is not emulated");
    Worker* w = worker;
    const unsigned lane = f->index % WARP;
    w->warp_slots[f->index] = value;
    f->state = State::AtWarpBarrier;
    yield_to_scheduler(f);
    const unsigned got = lane >= delta ? w->warp_slots[f->index - delta] : value;
    // Nobody may overwrite its slot before every lane has read.
    f->state = State::AtWarpBarrier;
    yield_to_scheduler(f);
    return got;
}

}  // namespace zkr_emu

using namespace zkr_emu;

// ---------------------------------------------------------------------------------------------------------------
// The C interface src/gpu/emulator.rs loads.
// ---------------------------------------------------------------------------------------------------------------

// Bumped whenever a signature below changes.
ZKR_EMU_API unsigned zkr_emu_abi_version() { return 1; }

// Whether this library was built with AddressSanitizer and UndefinedBehaviorSanitizer.
ZKR_EMU_API int zkr_emu_sanitized() {
#ifdef ZKR_EMU_ASAN
    return 1;
#else
    return 0;
#endif
}

// `bytes` of zeroed device memory (at least one byte is reserved for an empty buffer), or null.
ZKR_EMU_API void* zkr_emu_alloc(std::size_t bytes) {
#ifdef ZKR_EMU_ASAN
    return std::calloc(bytes == 0 ? 1 : bytes, 1);
#else
    const std::size_t page = page_size();
    const std::size_t used = round_up(bytes == 0 ? 1 : bytes, 4);
    const std::size_t body = round_up(used, page);
    void* p = mmap(nullptr, body + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    char* base = static_cast<char*>(p);
    if (mprotect(base, page, PROT_NONE) != 0 || mprotect(base + page + body, page, PROT_NONE) != 0) {
        munmap(base, body + 2 * page);
        return nullptr;
    }
    // The buffer ends where the upper guard page starts.
    return base + page + body - used;
#endif
}

// Frees a buffer of `zkr_emu_alloc(bytes)`.
ZKR_EMU_API void zkr_emu_free(void* ptr, std::size_t bytes) {
    if (ptr == nullptr) return;
#ifdef ZKR_EMU_ASAN
    (void)bytes;
    std::free(ptr);
#else
    const std::size_t page = page_size();
    const std::size_t used = round_up(bytes == 0 ? 1 : bytes, 4);
    const std::size_t body = round_up(used, page);
    char* base = static_cast<char*>(ptr) + used - body - page;
    munmap(base, body + 2 * page);
#endif
}

// The index of kernel `name`, or -1: what cuModuleGetFunction resolves.
ZKR_EMU_API int zkr_emu_kernel(const char* name) {
    for (int i = 0; i < KERNEL_COUNT; i++)
        if (std::strcmp(KERNELS[i].name, name) == 0) return i;
    return -1;
}

// Runs kernel `kernel` on a grid of (grid_x, grid_y) blocks of block_x threads, as cuLaunchKernel with
// `params[i]` pointing at the i-th argument. Returns when every block has finished (the emulator has one stream
// and launches are synchronous). 0 on success; otherwise the reason is written to `error`.
ZKR_EMU_API int zkr_emu_launch(int kernel, unsigned grid_x, unsigned grid_y, unsigned block_x, void** params,
                               unsigned workers, int reverse, char* error, std::size_t error_len) {
    if (kernel < 0 || kernel >= KERNEL_COUNT) {
        write_error(error, error_len, "no such kernel");
        return 1;
    }
    const Kernel& k = KERNELS[kernel];
    if (block_x == 0 || block_x > MAX_BLOCK_THREADS || block_x > k.max_threads) {
        write_error(error, error_len,
                    std::string("launch of ") + k.name + " with " + std::to_string(block_x) +
                        " threads per block: the kernel allows 1 to " + std::to_string(k.max_threads) +
                        " (CUDA_ERROR_INVALID_VALUE)");
        return 1;
    }
    if (grid_x == 0 || grid_x > MAX_GRID_X || grid_y == 0 || grid_y > MAX_GRID_Y) {
        write_error(error, error_len,
                    std::string("launch of ") + k.name + " on a grid of (" + std::to_string(grid_x) + ", " +
                        std::to_string(grid_y) + ") blocks is outside the device's limits (CUDA_ERROR_INVALID_VALUE)");
        return 1;
    }
    const unsigned long long blocks = (unsigned long long)grid_x * grid_y;
    unsigned count = workers == 0 ? std::thread::hardware_concurrency() : workers;
    if (count == 0) count = 1;
    if (count > blocks) count = static_cast<unsigned>(blocks);

    std::atomic<unsigned long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_lock;
    std::string first_error;
    auto work = [&]() {
        Worker w;
        w.kernel = &k;
        w.params = params;
        worker = &w;
        vars.block_dim = Dim3{block_x, 1, 1};
        vars.grid_dim = Dim3{grid_x, grid_y, 1};
        for (;;) {
            if (failed.load(std::memory_order_relaxed)) break;
            const unsigned long long b = next.fetch_add(1, std::memory_order_relaxed);
            if (b >= blocks) break;
            // Blocks are taken in order, or from the last one in the reverse mode.
            const unsigned long long id = reverse ? blocks - 1 - b : b;
            vars.block_idx = Dim3{static_cast<unsigned>(id % grid_x), static_cast<unsigned>(id / grid_x), 0};
            std::string err;
            bool ok = true;
            run_block(&w, block_x, reverse != 0, err, ok);
            if (!ok) {
                std::lock_guard<std::mutex> guard(error_lock);
                if (first_error.empty()) first_error = err;
                failed.store(true);
                break;
            }
        }
        worker = nullptr;
    };
    if (count == 1) {
        work();
    } else {
        std::vector<std::thread> threads;
        threads.reserve(count);
        for (unsigned i = 0; i < count; i++) threads.emplace_back(work);
        for (std::thread& t : threads) t.join();
    }
    if (failed.load()) {
        write_error(error, error_len, first_error);
        return 1;
    }
    return 0;
}

// The host twins of field.cuh's PTX, for tests/ptx_twins.rs (through the same functions the kernels call).
ZKR_EMU_API void zkr_emu_twin_add8(u32 r[8], const u32 a[8], const u32 b[8]) { add8(r, a, b); }
ZKR_EMU_API u32 zkr_emu_twin_sub8(u32 r[8], const u32 a[8], const u32 b[8]) { return sub8(r, a, b); }
ZKR_EMU_API void zkr_emu_twin_mad_lo_row(u32 t[9], const u32 a[8], u32 b) { mad_lo_row(t, a, b); }
ZKR_EMU_API void zkr_emu_twin_mad_hi_row(u32 t[9], const u32 a[8], u32 b) { mad_hi_row(t, a, b); }
