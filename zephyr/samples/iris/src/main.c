/* microlearn Zephyr sample: runs the platform samples' application (examples/platforms). */
#include "app.h"

int main(void)
{
    return sample_run() > 0 ? 0 : 1;
}
