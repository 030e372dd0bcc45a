//! Guest images given on the command line (or built in), read into memory before anything else
//! happens so that a missing file fails first.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::VmmError;

/// The default guest: G233 demo firmware (a bare-metal ELF linked at 0x8000_0000).
pub const DEFAULT_FIRMWARE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../resources/firmware/g233-hello.elf"
));

/// An image file's contents with what it is and where it came from.
#[derive(Debug, Clone)]
pub struct Image {
    /// What it is (`kernel`, `--bios firmware`, `--initrd`, `--loader image`).
    pub what: &'static str,
    /// Its path (`(built-in)` for the embedded firmware).
    pub path: PathBuf,
    /// The bytes.
    pub bytes: Cow<'static, [u8]>,
}

impl Image {
    /// Reads `path` as the `what` image.
    pub fn read(what: &'static str, path: &Path) -> Result<Image, VmmError> {
        let read_err = |err| VmmError::Read {
            what,
            path: path.to_path_buf(),
            err,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.is_dir() {
            return Err(read_err(std::io::Error::other("is a directory")));
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        Ok(Image {
            what,
            path: path.to_path_buf(),
            bytes: Cow::Owned(bytes),
        })
    }

    /// The built-in default firmware.
    pub fn builtin() -> Image {
        Image {
            what: "built-in firmware",
            path: PathBuf::from("(built-in)"),
            bytes: Cow::Borrowed(DEFAULT_FIRMWARE),
        }
    }

    /// Wraps a loader error with this image's name.
    pub fn load_error(&self, err: boards::loader::LoadError) -> VmmError {
        VmmError::Load {
            what: self.what,
            path: self.path.clone(),
            err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_firmware_is_a_riscv_elf() {
        let img = Image::builtin();
        assert!(boards::loader::is_elf(&img.bytes));
        let s = boards::loader::elf_summary(&img.bytes, boards::Isa::Riscv64).unwrap();
        assert_eq!(s.lowest_paddr, Some(0x8000_0000));
    }

    #[test]
    fn read_errors_name_the_file() {
        let e = Image::read("kernel", Path::new("/nonexistent/k.elf")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("kernel /nonexistent/k.elf: "), "{msg}");
        let e = Image::read("kernel", Path::new("/tmp")).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"abc").unwrap();
        assert_eq!(&*Image::read("kernel", f.path()).unwrap().bytes, b"abc");
    }
}
