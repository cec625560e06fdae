/* microlearn PlatformIO sample: runs the platform samples' application. ESP-IDF calls
 * app_main; bare-metal frameworks (stm32cube) call main. */
#include "app.h"

#ifdef ESP_PLATFORM
void app_main(void);

void app_main(void)
{
    (void)sample_run();
}
#else
int main(void)
{
    (void)sample_run();
    for (;;) {
    }
}
#endif
