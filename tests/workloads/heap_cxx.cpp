/*
 * heap_cxx: C++ allocation through operator new and new[], for the heap
 * profile's C++ names. Known figures at rate 1:
 *
 *   shop::Ledger::open_orders(int)   ORDERS x new Order (96 B), half deleted
 *   shop::make_buffers(int)          BUFFERS x new char[4096], all delete[]d
 *
 * Their stacks run through libstdc++'s operator new, whose caller must be
 * named as the C++ function it is (demangled, with its parameters), as
 * Go's pprof shows C++ names. Built with -fno-builtin (new/delete pairs
 * could otherwise be elided since C++14).
 */
#include <cstdio>
#include <cstring>

namespace shop
{

struct Order {
    long id;
    char note[88];
};
static_assert(sizeof(Order) == 96, "Order is 96 bytes");

constexpr int ORDERS = 1000;
constexpr int BUFFERS = 50;

class Ledger
{
  public:
    __attribute__((noinline)) void open_orders(int n);
    __attribute__((noinline)) void close_half();
    Order *orders[ORDERS] = {};
};

void Ledger::open_orders(int n)
{
    for (int i = 0; i < n; i++) {
        orders[i] = new Order;
        orders[i]->id = i;
        std::memset(orders[i]->note, 0, sizeof orders[i]->note);
    }
}

void Ledger::close_half()
{
    for (int i = 0; i < ORDERS; i += 2) {
        delete orders[i];
        orders[i] = nullptr;
    }
}

__attribute__((noinline)) void make_buffers(int n)
{
    for (int i = 0; i < n; i++) {
        char *volatile b = new char[4096];
        b[0] = 1;
        delete[] b;
    }
}

} // namespace shop

shop::Ledger ledger; // global: the open orders stay reachable

int main()
{
    ledger.open_orders(shop::ORDERS);
    ledger.close_half();
    shop::make_buffers(shop::BUFFERS);
    std::printf("heap_cxx: done\n");
    return 0;
}
