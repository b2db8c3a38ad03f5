// What a release costs the kernel: times madvise(MADV_DONTNEED) per call on anonymous memory,
// by size and by what backs it: 4 KiB pages just written (resident), a transparent huge page
// (MADV_HUGEPAGE, then written: with THP `madvise`, as Go 1.19's sysUsed asks), memory never
// written (not resident), and Go 1.19's sysUnused of a range inside a huge page
// (MADV_NOHUGEPAGE on the huge page, then MADV_DONTNEED). Each case: 8 rounds of a 256 MiB
// mapping, one call per 2 MiB huge page (at its middle when smaller); p10/median/p90 in us.
// The cost model's release figures (src/metrics/cost-model.ts) come from its output
// (docs/policies.md, "What a release costs").
//
//   gcc -O2 -o /tmp/madvise-cost bench/madvise-cost.c && /tmp/madvise-cost
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double now(void){struct timespec ts;clock_gettime(CLOCK_MONOTONIC,&ts);return ts.tv_sec*1e9+ts.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
#define HUGE (2UL<<20)
static void run(const char*name,size_t size,int nohuge,int touch,int reps){ int thp=touch==2;
  size_t region=256UL<<20; double *ts=malloc(sizeof(double)*reps*4096); int n=0;
  for(int r=0;r<reps;r++){
    char*raw=mmap(0,region+HUGE,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
    char*p=(char*)(((unsigned long)raw+HUGE-1)&~(HUGE-1));
    if(thp) madvise(p,region,MADV_HUGEPAGE);
    if(touch) for(size_t i=0;i<region;i+=4096)p[i]=1;
    // one call per 2 MiB huge page, at an offset inside it when size < 2 MiB (as Go's small releases)
    for(size_t off=0;off+HUGE<=region;off+=HUGE){
      char*v=p+off+(size<HUGE?HUGE/2:0);
      double t0=now();
      if(nohuge) madvise((void*)((unsigned long)v&~(HUGE-1)),HUGE,MADV_NOHUGEPAGE);
      madvise(v,size,MADV_DONTNEED);
      ts[n++]=now()-t0;
    }
    munmap(raw,region+HUGE);
  }
  qsort(ts,n,sizeof(double),cmp);
  printf("%-44s n=%5d p10=%6.2f med=%6.2f p90=%6.2f us\n",name,n,ts[n/10]/1e3,ts[n/2]/1e3,ts[n*9/10]/1e3);
  free(ts);
}
int main(void){
  for(int pass=0;pass<2;pass++){
  run("DONTNEED 2 MiB resident THP (MADV_HUGEPAGE)",HUGE,0,2,8);
  run("NOHUGEPAGE+DONTNEED 64 KiB of a THP",64<<10,1,2,8);
  run("DONTNEED 2 MiB resident",HUGE,0,1,8);
  run("DONTNEED 64 KiB resident",64<<10,0,1,8);
  run("DONTNEED 8 KiB resident",8<<10,0,1,8);
  run("NOHUGEPAGE+DONTNEED 64 KiB resident",64<<10,1,1,8);
  run("NOHUGEPAGE+DONTNEED 8 KiB resident",8<<10,1,1,8);
  run("DONTNEED 2 MiB not resident",HUGE,0,0,8);
  run("DONTNEED 64 KiB not resident",64<<10,0,0,8);
  }
  return 0;
}
