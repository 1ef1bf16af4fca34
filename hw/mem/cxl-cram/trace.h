#include "trace/trace-hw_mem_cxl_cram.h"
