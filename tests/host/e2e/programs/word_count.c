/* A small C program run sandboxed by the exec e2e tests and config/examples/c-program.toml:
 * counts the lines and words of stdin and of each file named on its command line. */
#include <ctype.h>
#include <stdio.h>

static int count(FILE* in, const char* name) {
    long lines = 0, words = 0;
    int c, in_word = 0;
    while ((c = getc(in)) != EOF) {
        if (c == '\n') ++lines;
        if (isspace(c)) in_word = 0;
        else if (!in_word) { in_word = 1; ++words; }
    }
    printf("%ld %ld %s\n", lines, words, name);
    return ferror(in) ? 1 : 0;
}

int main(int argc, char** argv) {
    int status = 0;
    if (argc == 1) return count(stdin, "-");
    for (int i = 1; i < argc; ++i) {
        FILE* in = fopen(argv[i], "r");
        if (!in) { perror(argv[i]); status = 1; continue; }
        status |= count(in, argv[i]);
        fclose(in);
    }
    return status;
}
