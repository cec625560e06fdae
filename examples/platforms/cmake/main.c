/* Plain C host program of the CMake sample: runs the sample application. */
#include "app.h"

int main(void)
{
    return sample_run() > 0 ? 0 : 1;
}
