/* microlearn ESP-IDF sample: runs the platform samples' application (examples/platforms). */
#include "app.h"

void app_main(void);

void app_main(void)
{
    (void)sample_run();
}
