# cashet: common tasks. `make` = install + build + test.
.PHONY: all install build test bench lint clean

all: install test

install:
	npm install

build:
	npm run build

test:
	npm test

bench:
	npm run bench

lint:
	npm run lint

clean:
	rm -rf dist
