# tests/hostile/: hostile-input suite and the valgrind session.
#   make test-hostile    bad folders, bad files, raw protocol abuse (run.sh)
#   make test-valgrind   a short session with every process under valgrind
.PHONY: test-hostile test-valgrind

test-hostile: programs
	B=$(B) tests/hostile/run.sh

test-valgrind: programs
	B=$(B) tests/hostile/valgrind.sh
