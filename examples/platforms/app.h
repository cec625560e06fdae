/* The platform samples' application: classify the held-out rows with the generated
 * model and print one line per row. Portable C99 (printf only); each platform's main
 * calls sample_run(). */
#ifndef SAMPLE_APP_H
#define SAMPLE_APP_H

/* Classify every row of rows.h and print "row <i>: <label> p=<probability>".
 * Returns the number of rows classified, or a negative microlearn error code. */
int sample_run(void);

#endif /* SAMPLE_APP_H */
