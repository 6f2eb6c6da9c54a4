// Compiles JavaScript modules with the XS compiler front end (the parser and code generator that Moddable's xsc
// uses) and prints, per file, the bytes of bytecode and of the symbol table XS would store for it.
// Built by bench/size.ts from the XS sources inside @agoric/xsnap; desktop only.
#include "xsScript.h"

typedef struct {
	FILE* file;
} Stream;

static int getByte(void* it)
{
	return fgetc(((Stream*)it)->file);
}

// The hooks the compiler expects from its host (xsc, or the engine when it compiles at run time).
txID fxGenerateProfileID(void* console)
{
	return 0;
}

void fxGenerateTag(void* console, txString buffer, txInteger bufferSize, txString path)
{
	static int tag = 0;
	snprintf(buffer, bufferSize, "#%d", ++tag);
}

void fxVReportError(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
	fprintf(stderr, "%s:%d: error: ", path ? path : "?", (int)line);
	vfprintf(stderr, format, arguments);
	fprintf(stderr, "\n");
}

void fxVReportWarning(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
}

int main(int argc, char* argv[])
{
	int status = 0;
	for (int i = 1; i < argc; i++) {
		txParser parser;
		txParserJump jump;
		txScript* script = NULL;
		Stream stream = { fopen(argv[i], "rb") };
		if (!stream.file) {
			fprintf(stderr, "cannot open %s\n", argv[i]);
			return 1;
		}
		fxInitializeParser(&parser, NULL, 32 * 1024, 1993);
		parser.firstJump = &jump;
		if (c_setjmp(jump.jmp_buf) == 0) {
			// A module in strict mode, without debug information: what a release build stores.
			fxParserTree(&parser, &stream, getByte, mxStrictFlag, NULL);
			fxParserHoist(&parser);
			fxParserBind(&parser);
			script = fxParserCode(&parser);
		}
		fclose(stream.file);
		if (script && parser.errorCount == 0)
			printf("%s\t%d\t%d\n", argv[i], (int)script->codeSize, (int)script->symbolsSize);
		else {
			fprintf(stderr, "%s: %d errors\n", argv[i], (int)parser.errorCount);
			status = 1;
		}
		fxTerminateParser(&parser);
	}
	return status;
}
