import Hummingbird
import HummingbirdBcrypt
print("x")
