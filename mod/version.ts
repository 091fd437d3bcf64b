/** The tool's version, shown by `member --version` and in `member stats`. */
export const version = "0.1.0";
