/*
 * main.c - the coordinator program. The process (configuration, recovery,
 * the consume loop) is coord_service_main() in service.c, in the coord
 * library so that the unit tests can run it against a fake middleware.
 */
#include "service.h"

int main(int argc, char **argv)
{
    return coord_service_main(argc, argv);
}
