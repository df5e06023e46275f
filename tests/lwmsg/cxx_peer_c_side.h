/* The C half of test_cxx_peer.cpp: a C program that talks to a C++ airlock::Connection peer. */
#ifndef AIRLOCK_TEST_LWMSG_CXX_PEER_C_SIDE_H
#define AIRLOCK_TEST_LWMSG_CXX_PEER_C_SIDE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the C side over socketpair end `fd`: 0 when every step went as expected, else the
   number of the step that failed. */
int run_c_side(int fd);

#ifdef __cplusplus
}
#endif

#endif
